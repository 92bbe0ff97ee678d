using Modal.Api;

namespace Modal.Server.Scheduling;

/// <summary>Where an unfinished input is.</summary>
internal enum InputLocation
{
    Ready,
    Delayed,
    Running,
    Finished,
}

/// <summary>An unfinished input in memory.</summary>
internal sealed class InputState(string id, CallState call, int index, Payload arguments)
{
    public string Id { get; } = id;
    public CallState Call { get; } = call;
    public int Index { get; } = index;
    public Payload Arguments { get; } = arguments;
    public int Attempt { get; set; } = 1;
    public int RetriesUsed { get; set; }
    public int InternalFailures { get; set; }
    public InputLocation Location { get; set; }
    public ContainerState? Container { get; set; }
    public long ReadySinceMs { get; set; }
    public long DeadlineMs { get; set; }
}
