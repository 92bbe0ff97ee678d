namespace Modal.Server.Store;

// What goes in and out of IControlStore. Specs, payloads and results travel as serialized protobuf bytes, so the
// store never depends on their shape and both stores store them identically.

/// <summary>
/// An app to create (or a deployed app's next version); <paramref name="Launch"/> is the serialized WorkerLaunchSpec,
/// <paramref name="ArtifactDigest"/> the artifact it runs (recorded with a deployed app's version; empty when none).
/// </summary>
internal sealed record NewApp(string Id, string Name, int Kind, byte[] Launch, string ArtifactDigest = "", string? IdempotencyKey = null);

/// <summary>A function to create or update; <paramref name="Spec"/> is the serialized FunctionSpec.</summary>
internal sealed record NewFunction(string Id, string Name, byte[] Spec);

/// <summary>
/// The app's id (an existing deployed app keeps its own), the new version's function ids by name, and the version
/// (1, 2, 3... for a deployed app; 0 for an ephemeral one).
/// </summary>
internal sealed record AppCreated(string AppId, IReadOnlyDictionary<string, string> FunctionIds, int Version);

/// <summary>
/// An app as stored. <paramref name="State"/> is "running", "deployed" or "stopped"; <paramref name="Launch"/>,
/// <paramref name="Version"/> and <paramref name="ArtifactDigest"/> are its newest version's (0 and empty for an ephemeral app).
/// </summary>
internal sealed record AppRow(string Id, string Name, int Kind, string State, long CreatedUnixMs, byte[] Launch, int LiveContainers,
    int Version, string ArtifactDigest);

/// <summary>One deployed version of an app: its number, the artifact it runs, and when it was deployed.</summary>
internal sealed record AppVersionRow(int Version, string ArtifactDigest, long CreatedUnixMs);

/// <summary>
/// A function as stored, with its app's name, kind and state. <paramref name="Version"/> is the app version the function
/// belongs to and <paramref name="AppVersion"/> its app's newest: a function with an older version is superseded.
/// </summary>
internal sealed record FunctionRow(string Id, string AppId, string AppName, bool AppStopped, string Name, byte[] Spec, int WarmPool,
    int Version, int AppVersion)
{
    /// <summary>Whether a newer version of the function's app has been deployed since.</summary>
    public bool Superseded => Version < AppVersion;

    /// <summary>What the function is a variant of; null for a function its app declares.</summary>
    public VariantOf? Variant { get; init; }

    /// <summary>The autoscaler settings FunctionUpdateAutoscaler laid over the spec.</summary>
    public AutoscalerOverride Autoscaler { get; init; } = AutoscalerOverride.None;
}

/// <summary>
/// A variant's base function, its key among the base's variants, and the serialized FunctionOverrides and opaque parameters
/// it was made with (kept, so that the same variant can be made of a newer version's function).
/// </summary>
internal sealed record VariantOf(string BaseId, string Key, byte[] Overrides, byte[] Parameters);

/// <summary>
/// A variant to create unless its base already has one of that key: <paramref name="Spec"/> is the base's spec with
/// <paramref name="Overrides"/> laid over it (serialized FunctionSpec and FunctionOverrides), <paramref name="Parameters"/> opaque.
/// </summary>
internal sealed record NewVariant(string Id, string BaseId, string Key, byte[] Spec, byte[] Overrides, byte[] Parameters);

/// <summary>A call to create.</summary>
internal sealed record NewCall(string Id, string FunctionId, int Invocation, string? ParentInputId, bool IsGenerator);

/// <summary>An input to enqueue; <paramref name="Arguments"/> is the serialized Payload.</summary>
internal sealed record NewInput(string Id, int Index, byte[] Arguments);

/// <summary>How much one function may have waiting.</summary>
internal sealed record BacklogLimits(long MaxInputs, long MaxBytes);

/// <summary>
/// The call and the ids of the inputs enqueued (or, replayed, of the request that used the key first), and what was
/// claimed in the same transaction for the container the caller named, if any.
/// </summary>
internal sealed record Enqueued(string CallId, string FunctionId, IReadOnlyList<string> InputIds, bool Replayed,
    IReadOnlyList<ClaimedAssignment>? Claimed = null);

/// <summary>A call as stored.</summary>
internal sealed record CallRow(
    string Id, string FunctionId, string FunctionName, string AppId, int Invocation, string? ParentInputId, bool IsGenerator,
    long CreatedUnixMs, int InputCount, int Unfinished, bool InputsComplete, bool Cancelled, int GeneratorAttempt);

/// <summary>An output; <paramref name="Result"/> is the serialized FunctionResult. Sequences start at 1 per call.</summary>
internal sealed record OutputRow(long Sequence, string InputId, int Index, byte[] Result);

/// <summary>Outputs after a sequence, and how many of the call's inputs are unfinished.</summary>
internal sealed record OutputPage(IReadOnlyList<OutputRow> Outputs, int Unfinished, bool Known);

/// <summary>A generator item; <paramref name="Data"/> is the serialized Payload.</summary>
internal sealed record ChunkRecord(long Index, byte[] Data);

/// <summary>
/// Items of the current attempt from an index; <paramref name="Finished"/> with <paramref name="Result"/> (the serialized
/// FunctionResult) once the generator's input ended.
/// </summary>
internal sealed record ChunkPage(int Attempt, IReadOnlyList<ChunkRecord> Chunks, bool Finished, byte[]? Result, bool Known);

/// <summary>A row of the call graph.</summary>
internal sealed record CallGraphRow(string InputId, string CallId, string FunctionName, int Status, string? ParentInputId);

/// <summary>A container to launch; the token is stored hashed.</summary>
internal sealed record NewContainer(string Id, string FunctionId, string AppId, byte[] TokenHash, string Replica, long StartupTimeoutMs);

/// <summary>A container as stored. <paramref name="State"/>: launching, running, stopping.</summary>
internal sealed record ContainerRow(
    string Id, string FunctionId, string AppId, byte[] TokenHash, string State, string Replica, bool SaidHello, bool StopRequested,
    bool KillRequested, long LaunchedUnixMs, long IdleSinceUnixMs, int Running, double? SlotUtilization = null);

/// <summary>A container's free slots when claiming.</summary>
internal sealed record ContainerCredit(string ContainerId, int Assignments);

/// <summary>A claimed input: what the worker needs to run it.</summary>
internal sealed record ClaimedInput(
    string InputId, string CallId, int Index, int Attempt, byte[] Arguments, long DeadlineUnixMs, bool IsGenerator);

/// <summary>One assignment (one input, or one batch) for one container.</summary>
internal sealed record ClaimedAssignment(string ContainerId, IReadOnlyList<ClaimedInput> Inputs);

/// <summary>A worker's result for one attempt; <paramref name="Result"/> is the serialized FunctionResult.</summary>
internal sealed record AttemptResult(string InputId, int Attempt, byte[] Result);

/// <summary>The calls that got outputs, and how many results were accepted, retried or ignored as stale.</summary>
internal sealed record Completed(IReadOnlyList<string> CallIds, int Finished, int Retried, int Ignored)
{
    public static readonly Completed None = new([], 0, 0, 0);
}

/// <summary>An input a worker reports running.</summary>
internal sealed record ActiveAttempt(string InputId, int Attempt);

/// <summary>What a heartbeat tells the worker: inputs to cancel, whether to stop. Unknown: the container is gone.</summary>
internal sealed record HeartbeatResult(bool Known, IReadOnlyList<string> CancelledInputIds, bool Stop, int Requeued);

/// <summary>
/// How a container ended: whether it ever said hello, the startup error it reported, and the calls whose inputs
/// finished (failed after too many internal failures) because of it.
/// </summary>
internal sealed record ContainerEnded(bool Known, string FunctionId, bool SaidHello, string? StartupError, int Requeued,
    IReadOnlyList<string> FinishedCallIds);

/// <summary>A running input past its deadline.</summary>
internal sealed record OverrunInput(string InputId, int Attempt, string ContainerId, string FunctionName, int TimeoutSeconds);

/// <summary>One function's inputs waiting to be claimed and its live containers (those not asked to stop).</summary>
internal sealed record FunctionStatsRow(long Ready, int LiveContainers);

/// <summary>A call's progress: inputs sent and finished; <paramref name="FinishedUnixMs"/> null while some input is unfinished.</summary>
internal sealed record CallProgressRow(
    string Id, string FunctionId, string FunctionName, int Invocation, string? ParentInputId, long CreatedUnixMs, int InputCount, int FinishedInputs,
    bool InputsComplete, long? FinishedUnixMs);

/// <summary>One function of an app: inputs waiting and running, containers launched but not said hello, and running (not stopping).</summary>
internal sealed record FunctionProgressRow(string FunctionId, string Name, long Ready, long Running, int StartingContainers, int RunningContainers);

/// <summary>An app's calls in flight (or recently finished) and its functions' load, read in one transaction.</summary>
internal sealed record AppProgress(IReadOnlyList<CallProgressRow> Calls, IReadOnlyList<FunctionProgressRow> Functions);

/// <summary>
/// The autoscaler's view of one function of a live app. <paramref name="Launch"/> is its own version's;
/// <paramref name="Superseded"/> marks a function of an older version of a deployed app, which runs only the inputs of
/// the calls bound to it and scales to zero.
/// </summary>
internal sealed record FunctionLoad(
    string FunctionId, string AppId, string AppName, int AppKind, byte[] Spec, byte[] Launch, int WarmPool, long Ready, long Running,
    long DelayedDueInMs, int StartupFailures, string? LastStartupError, long OldestReadyAgeMs, bool Superseded = false)
{
    /// <summary>The autoscaler settings FunctionUpdateAutoscaler laid over the spec.</summary>
    public AutoscalerOverride Autoscaler { get; init; } = AutoscalerOverride.None;

    /// <summary>The spec as the autoscaler reads it: with <see cref="Autoscaler"/> laid over it.</summary>
    public Api.FunctionSpec ScalingSpec() => Autoscaler.ApplyTo(Api.FunctionSpec.Parser.ParseFrom(Spec));
}

/// <summary>What retention deleted, and the blob files to remove.</summary>
internal sealed record RetentionResult(int Calls, int Apps, IReadOnlyList<string> BlobIds);

/// <summary>A request the store refused for a reason the caller can act on (not found, stopped, backlog full).</summary>
internal sealed class StoreRejection(StoreRejectionKind kind, string message) : Exception(message)
{
    public StoreRejectionKind Kind { get; } = kind;
}

internal enum StoreRejectionKind
{
    NotFound,
    FailedPrecondition,
    InvalidArgument,
    ResourceExhausted,
}

/// <summary>
/// An API token as stored: the secret only as its SHA-256 hash. <paramref name="Apps"/> null: any app; otherwise the token
/// may reach only the apps of these names. <paramref name="ExpiresUnixMs"/> null: no expiry.
/// </summary>
internal sealed record TokenRecord(
    string Id, byte[] SecretHash, bool Admin, IReadOnlyList<string>? Apps, long? ExpiresUnixMs, long CreatedUnixMs, bool Revoked, string Description);

/// <summary>An input's call, its call's app, and the container holding its lease (null when none), for access checks.</summary>
internal sealed record InputOwner(string InputId, string CallId, string AppId, string? Holder);
