namespace Modal.Server.Store;

/// <summary>
/// Durable state of the control plane. Writes are group-committed: each returns a task that completes once the
/// transaction holding it has committed; writes issued in order are applied in order.
/// </summary>
internal interface IStore : IAsyncDisposable
{
    /// <summary>Transactions committed so far (for tests of group commit).</summary>
    long TransactionCount { get; }

    Task UpsertAppAsync(AppRecord app);
    Task SetAppStateAsync(string appId, string state);
    Task UpsertFunctionAsync(FunctionRecord function);
    Task SetWarmPoolAsync(string functionId, int warmPool);
    Task InsertCallAsync(CallRecord call);
    Task InsertInputsAsync(IReadOnlyList<InputRecord> inputs);
    /// <summary>Records a new attempt (re-queue) of pending inputs.</summary>
    Task UpdateAttemptsAsync(IReadOnlyList<(string InputId, int Attempt, int RetriesUsed, int InternalFailures)> updates);
    /// <summary>Finishes inputs and appends their outputs (one cursor each).</summary>
    Task CompleteInputsAsync(IReadOnlyList<InputCompletion> completions);
    Task InsertChunksAsync(string callId, IReadOnlyList<ChunkRecord> chunks);
    Task InsertBlobAsync(string blobId, long size);

    IReadOnlyList<AppRecord> LoadApps();
    IReadOnlyList<FunctionRecord> LoadFunctions();
    IReadOnlyList<InputRecord> LoadPendingInputs();
    CallRecord? GetCall(string callId);
    int CountInputs(string callId);
    int CountUnfinishedInputs(string callId);
    IReadOnlyList<OutputRecord> ReadOutputs(string callId, long afterCursor, int max);
    IReadOnlyList<ChunkRecord> ReadChunks(string callId, long startIndex, int max);
    IReadOnlyList<CallGraphRow> ReadCallGraph(string rootCallId);
    long? GetBlobSize(string blobId);

    /// <summary>Deletes outputs, chunks and inputs of finished calls whose last output is older than the cutoff.</summary>
    Task<IReadOnlyList<string>> ExpireCallsAsync(long cutoffUnixMs);
}
