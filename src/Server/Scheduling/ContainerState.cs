using System.Threading.Channels;
using Modal.Api;
using Modal.Server.Launching;

namespace Modal.Server.Scheduling;

/// <summary>A launched worker: its credentials, credits, leased inputs and the channel its input stream reads.</summary>
internal sealed class ContainerState(string id, string token, FunctionState function, long nowMs)
{
    public string Id { get; } = id;
    public string Token { get; } = token;
    public FunctionState Function { get; } = function;
    public Channel<InputAssignment> Assignments { get; } = Channel.CreateUnbounded<InputAssignment>(
        new UnboundedChannelOptions { SingleReader = true });
    public int Credits { get; set; }
    public Dictionary<string, InputState> Running { get; } = new(StringComparer.Ordinal);
    public List<string> PendingCancellations { get; } = [];
    public long LastSeenMs { get; set; } = nowMs;
    public long IdleSinceMs { get; set; } = nowMs;
    public bool Stopping { get; set; }
    public bool Exited { get; set; }
    public int StreamsOpen { get; set; }
    public IContainerHandle? Handle { get; set; }
    /// <summary>Set at ContainerHello: the worker started and connected.</summary>
    public bool SaidHello { get; set; }
    /// <summary>The last line the process wrote to stderr, for the message when it fails to start.</summary>
    public string? LastStderrLine { get; set; }
}
