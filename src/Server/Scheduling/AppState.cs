using Modal.Api;

namespace Modal.Server.Scheduling;

/// <summary>An app in memory: its functions and how its workers are launched.</summary>
internal sealed class AppState(string id, string name, AppKind kind, long createdUnixMs)
{
    public string Id { get; } = id;
    public string Name { get; } = name;
    public AppKind Kind { get; } = kind;
    public long CreatedUnixMs { get; } = createdUnixMs;
    public WorkerLaunchSpec Launch { get; set; } = new();
    public bool Stopped { get; set; }
    public long LastHeartbeatMs { get; set; }
    public Dictionary<string, FunctionState> Functions { get; } = new(StringComparer.Ordinal);

    public string StateName => Stopped ? "stopped" : Kind == AppKind.Deployed ? "deployed" : "running";
}
