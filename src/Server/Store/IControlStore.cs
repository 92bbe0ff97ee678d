namespace Modal.Server.Store;

/// <summary>
/// The control plane's durable state, as its state transitions. Every method is one transaction: it either commits
/// all it says or nothing, and returns only after the commit. Fencing (which container holds an input, at which
/// attempt) is checked inside the transaction, so a stale worker, a second replica or a retried request can never
/// apply a transition twice. Times are the store's own clock (<see cref="NowMs"/>): the database's <c>now()</c> for
/// PostgreSQL, a monotonic clock anchored at open for SQLite, so that a wall-clock jump expires nothing.
/// Implementations: <see cref="SqliteControlStore"/> (embedded and single-server) and the PostgreSQL store (replicas);
/// both pass the same contract suite (tests/Modal.Server.Tests/StoreContract).
/// </summary>
internal interface IControlStore : IAsyncDisposable
{
    /// <summary>"sqlite" or "postgresql", for logs and tests.</summary>
    string Kind { get; }

    /// <summary>Transactions committed so far (for tests of group commit and batching).</summary>
    long TransactionCount { get; }

    /// <summary>The store's clock in Unix milliseconds (what leases and deadlines are compared with).</summary>
    long NowMs { get; }

    // ---- Apps and functions ------------------------------------------------------------------------------------

    /// <summary>
    /// Creates an app with its functions. A deployed app is version 1; deploying a name that is deployed already adds
    /// the next version to that app (same app id): the new version's functions get the new ids given, the app's launch
    /// becomes the new one, and the previous versions' functions, inputs and containers stay as they are, so that calls
    /// bound to them finish there (their containers are scaled down once idle, see <see cref="FunctionLoad.Superseded"/>).
    /// </summary>
    /// <remarks>
    /// With <see cref="NewApp.IdempotencyKey"/> already used, creates nothing and returns what that request created.
    /// </remarks>
    Task<AppCreated> CreateAppAsync(NewApp app, IReadOnlyList<NewFunction> functions);

    /// <summary>The deployed versions of the newest live app of that name, oldest first; empty when none.</summary>
    Task<IReadOnlyList<AppVersionRow>> ListVersionsAsync(string appName);

    /// <summary>Records an ephemeral app's heartbeat; false when the app is unknown or stopped.</summary>
    Task<bool> HeartbeatAppAsync(string appId);

    /// <summary>
    /// Stops an app: its unfinished inputs end as Terminated (outputs written), its containers are asked to stop.
    /// Null when unknown; otherwise whether it was running before.
    /// </summary>
    Task<bool?> StopAppAsync(string appId);

    /// <summary>Stops ephemeral apps whose last heartbeat is older than <paramref name="timeoutMs"/>; returns their ids.</summary>
    Task<IReadOnlyList<string>> StopSilentAppsAsync(long timeoutMs);

    Task<AppRow?> GetAppAsync(string appId);
    Task<IReadOnlyList<AppRow>> ListAppsAsync(bool includeStopped);
    Task<FunctionRow?> GetFunctionAsync(string functionId);

    /// <summary>
    /// The function of the newest deployed (else running) app of that name: in its newest version, or in
    /// <paramref name="version"/> when one is given. Null when that app, version or function does not exist.
    /// </summary>
    Task<FunctionRow?> FindFunctionAsync(string appName, string functionName, int? version = null);

    /// <summary>
    /// The function names of the newest live app of that name (of its newest version, or of <paramref name="version"/>),
    /// for "has no function X" messages.
    /// </summary>
    Task<IReadOnlyList<string>> FunctionNamesAsync(string appName, int? version = null);

    /// <summary>
    /// The newest version's functions of the newest live app of each name (of <paramref name="appName"/> only, when
    /// given), ordered by app name and function name: what lookups by name resolve.
    /// </summary>
    Task<IReadOnlyList<FunctionRow>> ListNewestFunctionsAsync(string? appName);

    Task<bool> SetWarmPoolAsync(string functionId, int warmPool);

    /// <summary>
    /// The variant of a declared function with <see cref="NewVariant.Key"/>: the row already there, unchanged, or else a new row
    /// made from <paramref name="variant"/> in its base's app and version (its own container pool and autoscaler; deleted with
    /// the app). Concurrent requests for one key, on any replica, return one row. Null when the base is unknown or is itself a
    /// variant. Throws <see cref="StoreRejection"/> when a new variant's app is stopped.
    /// </summary>
    Task<FunctionRow?> GetOrCreateVariantAsync(NewVariant variant);

    /// <summary>
    /// Lays <paramref name="update"/> over the function's autoscaler settings in one transaction and returns them all; null when
    /// the function is unknown. Throws <see cref="StoreRejection"/> (InvalidArgument) when the minimum would pass the maximum.
    /// </summary>
    Task<AutoscalerOverride?> UpdateAutoscalerAsync(string functionId, AutoscalerOverride update);

    // ---- Calls and inputs ----------------------------------------------------------------------------------------

    /// <summary>
    /// Creates a call with its first inputs. With an idempotency key already used, returns that request's result
    /// (<see cref="Enqueued.Replayed"/>) and changes nothing. Throws <see cref="StoreRejection"/> when the app is
    /// stopped or the function's backlog would pass its count or byte limit. With <paramref name="claimFor"/> (a worker
    /// of this replica with free slots), the store may also claim inputs for it in the same transaction, saving a
    /// round through the dispatcher for a warm call; a store may ignore it.
    /// </summary>
    Task<Enqueued> CreateCallAsync(NewCall call, IReadOnlyList<NewInput> inputs, string? idempotencyKey, BacklogLimits limits,
        ContainerCredit? claimFor = null);

    /// <summary>Adds inputs to a call (idempotent by key as above); <paramref name="last"/> marks its inputs complete.</summary>
    Task<Enqueued> PutInputsAsync(string callId, IReadOnlyList<NewInput> inputs, bool last, string? idempotencyKey, BacklogLimits limits);

    Task<CallRow?> GetCallAsync(string callId);

    /// <summary>
    /// Cancels a call: unfinished inputs end as Terminated; returns the containers that ran some of them (their
    /// workers are told at the next heartbeat; with terminate the caller kills them). Null when unknown.
    /// </summary>
    Task<IReadOnlyList<string>?> CancelCallAsync(string callId, bool terminateContainers);

    /// <summary>Outputs of a call after a sequence number, in sequence order; sequences have no gaps.</summary>
    Task<OutputPage> ReadOutputsAsync(string callId, long afterSequence, int max);

    /// <summary>Generator items of the call's current attempt from an index, in index order.</summary>
    Task<ChunkPage> ReadChunksAsync(string callId, long startIndex, int max);

    Task<IReadOnlyList<CallGraphRow>> ReadCallGraphAsync(string rootCallId);

    /// <summary>The input's call's app, for checks that a nested call's parent exists. Null when unknown.</summary>
    Task<string?> GetInputAppIdAsync(string inputId);

    // ---- Containers ----------------------------------------------------------------------------------------------

    /// <summary>Records a container about to be launched (state Launching) with its startup deadline.</summary>
    Task RegisterContainerAsync(NewContainer container);

    /// <summary>The container and its function, for authenticating a worker's request. Null when unknown or gone.</summary>
    Task<ContainerRow?> GetContainerAsync(string containerId);

    /// <summary>
    /// A worker said hello: its lease starts now. When it has <paramref name="started"/> (no startup error, no initialization
    /// left), its function's count of failed starts is reset. With a startup error the container is ended as failed to start
    /// (counted toward InitFailure). Returns false when the container is unknown or already gone.
    /// </summary>
    Task<bool> ContainerHelloAsync(string containerId, string? startupError, long leaseMs, bool started = true);

    /// <summary>
    /// Claims ready inputs for containers of one function: each container gets up to its credit count of assignments
    /// (an assignment is one input, or one batch for a batched function). A claim sets the lease holder and
    /// increments the attempt (fencing) and sets the deadline.
    /// </summary>
    Task<IReadOnlyList<ClaimedAssignment>> ClaimAsync(string functionId, IReadOnlyList<ContainerCredit> credits);

    /// <summary>
    /// Ends attempts with the workers' results. Accepted only from the lease holder at the current attempt; the rest
    /// are ignored (stale or duplicate). User failures and timeouts are retried per the function's policy; the rest
    /// finish with an output. Returns the calls that got outputs.
    /// </summary>
    Task<Completed> CompleteAsync(string containerId, IReadOnlyList<AttemptResult> results);

    /// <summary>Appends generator items of one attempt; false when the container no longer holds it.</summary>
    Task<bool> AppendChunksAsync(string containerId, string inputId, int attempt, IReadOnlyList<ChunkRecord> chunks);

    /// <summary>
    /// A heartbeat: renews the container's lease and reconciles what it runs. Inputs it reports but no longer holds
    /// come back as cancelled; inputs it holds but does not report (claimed longer than <paramref name="graceMs"/>
    /// ago) are re-queued, as their assignment was lost. <paramref name="slotUtilization"/>, when the worker measured it, is
    /// kept on the container's row for the autoscaler (absent: the last measure stays).
    /// </summary>
    Task<HeartbeatResult> HeartbeatContainerAsync(string containerId, IReadOnlyList<ActiveAttempt> active, long leaseMs, long graceMs,
        double? slotUtilization = null);

    /// <summary>
    /// A container is gone (exited, killed, lease expired, never said hello by its deadline): its inputs are re-queued
    /// as internal failures (failed after too many). Returns what happened, so the launcher can back off.
    /// </summary>
    Task<ContainerEnded> EndContainerAsync(string containerId, string reason, int internalFailureLimit);

    /// <summary>
    /// Counts a worker of the function that failed to start on its own (its startup error, or an exit before hello
    /// that was not a kill); returns the failures in a row. A hello without an error resets the count.
    /// </summary>
    Task<int> RecordStartupFailureAsync(string functionId, string reason);

    /// <summary>Ends the function's queued (not running) inputs with this result (InitFailure); returns the calls touched.</summary>
    Task<Completed> FailQueuedInputsAsync(string functionId, byte[] result);

    /// <summary>Asks a container to stop (its heartbeat says stop; its input stream ends).</summary>
    Task RequestContainerStopAsync(string containerId, bool kill);

    /// <summary>Containers whose lease or startup deadline passed, for the leader to end.</summary>
    Task<IReadOnlyList<string>> FindExpiredContainersAsync();

    /// <summary>Running inputs past their deadline plus grace: the leader times them out and kills their containers.</summary>
    Task<IReadOnlyList<OverrunInput>> FindOverrunInputsAsync(long graceMs);

    /// <summary>Ends an attempt as a timeout (the worker did not report in time), fenced by holder and attempt.</summary>
    Task<Completed> TimeOutAsync(OverrunInput input);

    /// <summary>Everything the autoscaler looks at, one row per live function.</summary>
    Task<IReadOnlyList<FunctionLoad>> ReadLoadAsync();

    /// <summary>One function's backlog and live containers (stats for callers); null when the function is unknown.</summary>
    Task<FunctionStatsRow?> ReadFunctionStatsAsync(string functionId);

    /// <summary>
    /// An app's calls that are unfinished or finished at or after <paramref name="finishedSinceMs"/> (unfinished first, then
    /// the newest; at most <paramref name="maxCalls"/>), and each of its functions' backlog and containers, for progress displays.
    /// </summary>
    Task<AppProgress> ReadAppProgressAsync(string appId, long finishedSinceMs, int maxCalls);

    /// <summary>Live containers (launching, running or stopping), for the autoscaler and listings.</summary>
    Task<IReadOnlyList<ContainerRow>> ListContainersAsync();

    // ---- Replicas and retention ----------------------------------------------------------------------------------

    /// <summary>Takes or renews the leader lease for <paramref name="replicaId"/>; true while it holds it.</summary>
    Task<bool> TryLeadAsync(string replicaId, long ttlMs);

    /// <summary>Gives the leader lease up (graceful stop).</summary>
    Task ResignAsync(string replicaId);

    /// <summary>Records that a replica serves at this URL until the TTL passes (renewed by each replica's duty loop).</summary>
    Task RegisterReplicaAsync(string replicaId, string url, long ttlMs);

    /// <summary>The URLs of the replicas alive now, for the server URL list handed to workers.</summary>
    Task<IReadOnlyList<string>> ListReplicaUrlsAsync();

    /// <summary>
    /// Deletes, in bounded batches, finished calls past retention (with their inputs, outputs, chunks and idempotency
    /// keys), stopped apps with no live containers and no unfinished inputs, and returns the blob ids no longer
    /// referenced whose files the caller deletes.
    /// </summary>
    Task<RetentionResult> DeleteExpiredAsync(long callRetentionMs, long syncOutputRetentionMs, int maxRows);

    /// <summary>
    /// Records a stored blob. With an idempotency key, also maps the key to the blob, once: returns the blob id the key
    /// names (this one, or an earlier upload's with the same key).
    /// </summary>
    Task<string> InsertBlobAsync(string blobId, long size, string? idempotencyKey = null);

    /// <summary>The object an idempotency key of AppCreate or BlobPut names (an app id or a blob id); null when unused.</summary>
    Task<string?> FindRequestKeyAsync(string idempotencyKey);
    Task<long?> GetBlobSizeAsync(string blobId);

    /// <summary>
    /// Adds a reader to a blob's access list (a principal such as <c>tk:ID</c>, <c>app:ID</c> or <c>out:CALL</c>), once;
    /// false when the blob is unknown. The list goes with the blob's row when retention deletes it.
    /// </summary>
    Task<bool> GrantBlobAsync(string blobId, string reader);

    /// <summary>A blob's readers; null when the blob is unknown.</summary>
    Task<IReadOnlyList<string>?> ReadBlobReadersAsync(string blobId);

    /// <summary>An input's call, app and lease holder, for checking who may attach calls under it. Null when unknown.</summary>
    Task<InputOwner?> GetInputOwnerAsync(string inputId);

    // ---- Tokens and artifacts -------------------------------------------------------------------------------------

    /// <summary>Stores a token; a token of the same id is replaced (a configured admin token after a restart).</summary>
    Task CreateTokenAsync(TokenRecord token);

    /// <summary>The token of that id, revoked or not; null when unknown.</summary>
    Task<TokenRecord?> GetTokenAsync(string tokenId);

    /// <summary>Every token, oldest first.</summary>
    Task<IReadOnlyList<TokenRecord>> ListTokensAsync();

    /// <summary>Revokes a token at once; false when unknown.</summary>
    Task<bool> RevokeTokenAsync(string tokenId);

    /// <summary>Records a content-addressed artifact (its manifest); true when it was new, false when already stored.</summary>
    Task<bool> RecordArtifactAsync(string digest, byte[] manifest, long size);

    /// <summary>An artifact's manifest; null when it was never stored.</summary>
    Task<byte[]?> GetArtifactAsync(string digest);

    /// <summary>Row counts per table, for tests of bounded growth and diagnostics.</summary>
    Task<IReadOnlyDictionary<string, long>> CountRowsAsync();

    /// <summary>
    /// Wake-ups: committed changes on this replica signal at once; the PostgreSQL store also relays other replicas'
    /// changes (LISTEN/NOTIFY). Waiters re-read the store and poll on timeout, so signals are hints only.
    /// </summary>
    StoreSignals Signals { get; }

    /// <summary>
    /// Hands an app's container log lines to the other replicas on this database, whose <see cref="Signals"/> raise
    /// <see cref="StoreSignals.LogsArrived"/>; never blocks, and lines may be lost as live logs may be.
    /// </summary>
    void RelayLogs(string appId, IReadOnlyList<Modal.Api.LogLine> lines);
}
