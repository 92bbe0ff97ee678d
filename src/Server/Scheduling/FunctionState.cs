using Modal.Api;

namespace Modal.Server.Scheduling;

/// <summary>A function in memory: its ready and delayed inputs and its containers.</summary>
internal sealed class FunctionState(string id, AppState app, FunctionSpec spec)
{
    public string Id { get; } = id;
    public AppState App { get; } = app;
    public FunctionSpec Spec { get; set; } = spec;
    /// <summary>Containers kept warm at runtime (FunctionUpdateKeepWarm); -1 when not set.</summary>
    public int WarmPool { get; set; } = -1;

    /// <summary>Inputs ready to run, oldest first; finished or moved entries are skipped when dequeued.</summary>
    public Queue<InputState> Ready { get; } = new();
    public int ReadyCount { get; set; }
    /// <summary>Inputs waiting for a retry delay, by due time.</summary>
    public PriorityQueue<InputState, long> Delayed { get; } = new();
    public int DelayedCount { get; set; }
    public List<ContainerState> Containers { get; } = [];
    public int RunningCount { get; set; }
    public int RoundRobin { get; set; }
    public int LaunchFailures { get; set; }
    public long NextLaunchMs { get; set; }

    public bool IsBatched => Spec.Kind == FunctionKind.Batched && Spec.Batch is { MaxBatchSize: > 0 };
    public int MaxBatchSize => IsBatched ? Spec.Batch.MaxBatchSize : 1;
    /// <summary>Inputs one container runs at once.</summary>
    public int InputsPerContainer => IsBatched ? Spec.Batch.MaxBatchSize * Math.Max(1, Spec.MaxInputs) : Math.Max(1, Spec.MaxInputs);
    public int Backlog => ReadyCount + DelayedCount;
    public TimeSpan ScaledownWindow => TimeSpan.FromSeconds(Spec.ScaledownWindowSeconds > 0 ? Spec.ScaledownWindowSeconds : 60);
    public int TimeoutSeconds => Spec.TimeoutSeconds > 0 ? Spec.TimeoutSeconds : 300;
}
