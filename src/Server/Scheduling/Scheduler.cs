using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Modal.Api;
using Modal.Server.Launching;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

/// <summary>
/// The in-memory scheduler, rebuilt from the store at start: apps, functions, per-function ready and delayed queues,
/// leases held by containers, and the autoscaler. One lock guards all of it; durable effects go through the store's
/// group commit, enqueued under the lock so that they are applied in the order they happened.
/// </summary>
internal sealed partial class Scheduler
{
    private readonly object _gate = new();
    private readonly IStore _store;
    private readonly ControlPlaneOptions _options;
    private readonly IContainerLauncher _launcher;
    private readonly LogHub _logs;
    private readonly ServerMetrics _metrics;
    private readonly ILogger<Scheduler> _logger;
    private readonly Dictionary<string, AppState> _apps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FunctionState> _functions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CallState> _calls = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ContainerState> _containers = new(StringComparer.Ordinal);
    private readonly List<(InputState Input, FunctionResult Result)> _completions = [];
    private readonly List<(string, int, int, int)> _attemptUpdates = [];
    private readonly SemaphoreSlim _wake = new(0);

    public Scheduler(IStore store, ControlPlaneOptions options, IContainerLauncher launcher, LogHub logs, ServerMetrics metrics,
        ILogger<Scheduler> logger)
    {
        _store = store;
        _options = options;
        _launcher = launcher;
        _logs = logs;
        _metrics = metrics;
        _logger = logger;
        Restore();
    }

    /// <summary>The URL workers are told to connect to; set once the server listens.</summary>
    public string ServerUrl { get; set; } = "";

    /// <summary>Inputs per second do not matter here; tests and the loop use wall-clock milliseconds.</summary>
    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    internal static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N");

    /// <summary>Wakes the background loop (autoscaling, batches) soon.</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    /// <summary>Waits for <see cref="Wake"/> or the timeout.</summary>
    public Task WaitForWakeAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _wake.WaitAsync(timeout, cancellationToken);

    private void Restore()
    {
        long now = NowMs;
        foreach (var record in _store.LoadApps())
        {
            var app = new AppState(record.Id, record.Name, (AppKind)record.Kind, record.CreatedUnixMs)
            {
                Launch = WorkerLaunchSpec.Parser.ParseFrom(record.Launch),
                Stopped = record.State == "stopped",
                LastHeartbeatMs = now,
            };
            _apps[app.Id] = app;
        }
        foreach (var record in _store.LoadFunctions())
        {
            if (!_apps.TryGetValue(record.AppId, out var app))
            {
                continue;
            }
            var function = new FunctionState(record.Id, app, FunctionSpec.Parser.ParseFrom(record.Spec)) { WarmPool = record.WarmPool };
            app.Functions[function.Spec.Name] = function;
            _functions[function.Id] = function;
        }
        int restored = 0;
        foreach (var record in _store.LoadPendingInputs())
        {
            var call = FindCall(record.CallId);
            if (call is null)
            {
                continue;
            }
            var input = new InputState(record.Id, call, record.Index, Payload.Parser.ParseFrom(record.Arguments))
            {
                Attempt = record.Attempt,
                RetriesUsed = record.RetriesUsed,
                InternalFailures = record.InternalFailures,
            };
            call.Unfinished[input.Id] = input;
            MakeReady(input, now);
            restored++;
        }
        if (restored > 0)
        {
            _logger.LogInformation("Restored {Count} pending inputs from the store", restored);
        }
    }

    /// <summary>The call, from memory or the store; null when unknown. Caller holds the lock.</summary>
    private CallState? FindCall(string callId)
    {
        if (_calls.TryGetValue(callId, out var call))
        {
            return call;
        }
        var record = _store.GetCall(callId);
        if (record is null || !_functions.TryGetValue(record.FunctionId, out var function))
        {
            return null;
        }
        call = new CallState(record.Id, function, (FunctionCallInvocation)record.Invocation, record.IsGenerator, record.ParentInputId)
        {
            InputCount = _store.CountInputs(record.Id),
            Expired = record.Expired,
        };
        _calls[call.Id] = call;
        return call;
    }

    private CallState GetCall(string callId)
    {
        var call = FindCall(callId) ?? throw Errors.NotFound($"Function call '{callId}' was not found.");
        if (call.Expired)
        {
            throw Errors.Expired(callId, _options.OutputRetention);
        }
        return call;
    }

    private FunctionState GetFunction(string functionId) =>
        _functions.TryGetValue(functionId, out var function)
            ? function
            : throw Errors.NotFound($"Function '{functionId}' was not found. Look functions up with FunctionGet or create them with AppCreate.");

    private void MakeReady(InputState input, long now)
    {
        var function = input.Call.Function;
        input.Location = InputLocation.Ready;
        input.Container = null;
        input.ReadySinceMs = now;
        function.Ready.Enqueue(input);
        function.ReadyCount++;
    }

    /// <summary>Writes what the current operation decided; returns when it has committed. Caller holds the lock.</summary>
    private Task Flush()
    {
        var tasks = new List<Task>(2);
        if (_attemptUpdates.Count > 0)
        {
            tasks.Add(_store.UpdateAttemptsAsync([.. _attemptUpdates]));
            _attemptUpdates.Clear();
        }
        if (_completions.Count > 0)
        {
            var completions = new List<InputCompletion>(_completions.Count);
            var calls = new HashSet<CallState>();
            foreach (var (input, result) in _completions)
            {
                completions.Add(new InputCompletion(input.Id, input.Call.Id, input.Index, (int)result.Status, result.ToByteArray()));
                calls.Add(input.Call);
            }
            _metrics.Outputs.Add(completions.Count);
            _completions.Clear();
            var written = _store.CompleteInputsAsync(completions);
            tasks.Add(written.ContinueWith(
                _ =>
                {
                    foreach (var call in calls)
                    {
                        call.Signal();
                    }
                },
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
            tasks.Add(written);
        }
        return tasks.Count == 0 ? Task.CompletedTask : Task.WhenAll(tasks);
    }
}
