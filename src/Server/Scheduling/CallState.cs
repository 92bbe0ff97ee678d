using Modal.Api;

namespace Modal.Server.Scheduling;

/// <summary>A function call in memory: its unfinished inputs and a signal woken on every new output or chunk.</summary>
internal sealed class CallState(string id, FunctionState function, FunctionCallInvocation invocation, bool isGenerator, string? parentInputId)
{
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Id { get; } = id;
    public FunctionState Function { get; } = function;
    public FunctionCallInvocation Invocation { get; } = invocation;
    public bool IsGenerator { get; } = isGenerator;
    public string? ParentInputId { get; } = parentInputId;
    public int InputCount { get; set; }
    /// <summary>When inputs were last added or finished; finished calls idle for long are dropped from memory.</summary>
    public long LastActivityMs { get; set; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    public Dictionary<string, InputState> Unfinished { get; } = new(StringComparer.Ordinal);
    /// <summary>Set once the call was cancelled.</summary>
    public bool Cancelled { get; set; }

    /// <summary>Set once the retention sweep removed its outputs.</summary>
    public bool Expired { get; set; }

    /// <summary>Completes at the next <see cref="Signal"/>; take it before reading, so nothing is missed.</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    public void Signal() =>
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
