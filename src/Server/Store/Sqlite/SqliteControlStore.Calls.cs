using Modal.Api;

namespace Modal.Server.Store;

internal sealed partial class SqliteControlStore
{
    public Task<Enqueued> CreateCallAsync(NewCall call, IReadOnlyList<NewInput> inputs, string? idempotencyKey, BacklogLimits limits,
        ContainerCredit? claimFor = null) =>
        WriteAsync((tx, now, signals) =>
        {
            if (Replay(tx, idempotencyKey) is { } replayed)
            {
                return replayed;
            }
            // One read of the function's row serves the checks, the backlog limit and a claim for a waiting worker.
            var function = tx.Single(
                "SELECT a.stopped, a.name, f.name, f.ready, f.backlog_bytes, f.batch_size, f.batch_wait_ms, f.timeout_s " +
                "FROM functions f JOIN apps a ON a.id = f.app_id WHERE f.id = $1",
                r => new
                {
                    Stopped = r.GetInt32(0) != 0, AppName = r.GetString(1),
                    Backlog = new FunctionBacklog(r.GetString(2), r.GetInt64(3), r.GetInt64(4)),
                    BatchSize = r.GetInt32(5), BatchWaitMs = r.GetInt32(6), TimeoutSeconds = r.GetInt32(7),
                }, call.FunctionId)
                ?? throw StoreRejections.FunctionNotFound(call.FunctionId);
            if (function.Stopped)
            {
                throw StoreRejections.AppStopped(function.AppName, function.Backlog.Name);
            }
            tx.Execute("INSERT INTO calls(id, function_id, invocation, parent_input_id, is_generator, created_ms, input_count, unfinished) " +
                "VALUES($1, $2, $3, $4, $5, $6, $7, $7)",
                call.Id, call.FunctionId, call.Invocation, call.ParentInputId, call.IsGenerator, now, inputs.Count);
            var ids = AddInputs(tx, call.Id, call.FunctionId, call.ParentInputId, inputs, limits, now, signals, function.Backlog, countOnCall: false);
            Remember(tx, idempotencyKey, call.Id, call.FunctionId, ids, now);
            // A waiting worker of a single-input function gets the input in this transaction.
            var claimed = claimFor is not null && function is { BatchSize: 1, BatchWaitMs: 0 }
                ? ClaimSingles(tx, call.FunctionId, [claimFor], now, now + function.TimeoutSeconds * 1000L, (call.Id, call.IsGenerator))
                : null;
            return new Enqueued(call.Id, call.FunctionId, ids, Replayed: false, claimed);
        });

    public Task<Enqueued> PutInputsAsync(string callId, IReadOnlyList<NewInput> inputs, bool last, string? idempotencyKey, BacklogLimits limits) =>
        WriteAsync((tx, now, signals) =>
        {
            if (Replay(tx, idempotencyKey) is { } replayed)
            {
                return replayed;
            }
            var call = tx.Single(
                "SELECT c.function_id, c.parent_input_id, c.cancelled, c.inputs_complete, a.stopped, a.name, f.name, f.ready, f.backlog_bytes " +
                "FROM calls c JOIN functions f ON f.id = c.function_id JOIN apps a ON a.id = f.app_id WHERE c.id = $1",
                r => new
                {
                    FunctionId = r.GetString(0), Parent = SqliteTx.NullableString(r, 1), Cancelled = r.GetInt32(2) != 0,
                    Complete = r.GetInt32(3) != 0, Stopped = r.GetInt32(4) != 0, AppName = r.GetString(5),
                    Backlog = new FunctionBacklog(r.GetString(6), r.GetInt64(7), r.GetInt64(8)),
                }, callId)
                ?? throw StoreRejections.CallNotFound(callId);
            StoreRejections.ThrowIfClosed(callId, call.AppName, call.Stopped, call.Cancelled, call.Complete, inputs.Count);
            var ids = AddInputs(tx, callId, call.FunctionId, call.Parent, inputs, limits, now, signals, call.Backlog, countOnCall: true);
            if (last)
            {
                tx.Execute("UPDATE calls SET inputs_complete = 1 WHERE id = $1", callId);
                signals.Add(s => s.CallChanged(callId));
            }
            Remember(tx, idempotencyKey, callId, call.FunctionId, ids, now);
            return new Enqueued(callId, call.FunctionId, ids, Replayed: false);
        });

    /// <summary>A function's name and backlog, as its row stood when read in this transaction.</summary>
    private sealed record FunctionBacklog(string Name, long Ready, long Bytes);

    private static Enqueued? Replay(SqliteTx tx, string? key) =>
        string.IsNullOrEmpty(key)
            ? null
            : tx.Single("SELECT call_id, function_id, input_ids FROM idempotency WHERE key = $1",
                r => new Enqueued(r.GetString(0), r.GetString(1), SplitIds(r.GetString(2)), Replayed: true), key);

    private static IReadOnlyList<string> SplitIds(string ids) => ids.Length == 0 ? [] : ids.Split(',');

    private static void Remember(SqliteTx tx, string? key, string callId, string functionId, IReadOnlyList<string> inputIds, long now)
    {
        if (!string.IsNullOrEmpty(key))
        {
            tx.Execute("INSERT INTO idempotency(key, call_id, function_id, input_ids, created_ms) VALUES($1, $2, $3, $4, $5)",
                key, callId, functionId, string.Join(',', inputIds), now);
        }
    }

    /// <summary>
    /// Adds inputs to a call within the function's backlog limits (<paramref name="backlog"/>: its row read in this
    /// transaction); <paramref name="countOnCall"/>: add them to the call's counts (a call created with them has them).
    /// </summary>
    private static List<string> AddInputs(SqliteTx tx, string callId, string functionId, string? parentInputId, IReadOnlyList<NewInput> inputs,
        BacklogLimits limits, long now, List<Action<StoreSignals>> signals, FunctionBacklog backlog, bool countOnCall)
    {
        var ids = new List<string>(inputs.Count);
        if (inputs.Count == 0)
        {
            return ids;
        }
        long bytes = 0;
        foreach (var input in inputs)
        {
            bytes += input.Arguments.Length;
        }
        if (backlog.Ready + inputs.Count > limits.MaxInputs || backlog.Bytes + bytes > limits.MaxBytes)
        {
            throw StoreRejections.BacklogFull(backlog.Name, backlog.Ready, backlog.Bytes, inputs.Count, bytes, limits);
        }
        foreach (var input in inputs)
        {
            tx.Execute(
                "INSERT INTO inputs(id, call_id, function_id, idx, args, args_size, ready_at_ms, parent_input_id) VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
                input.Id, callId, functionId, input.Index, input.Arguments, input.Arguments.Length, now, parentInputId);
            ids.Add(input.Id);
        }
        tx.Execute("UPDATE functions SET ready = ready + $2, backlog_bytes = backlog_bytes + $3 WHERE id = $1", functionId, inputs.Count, bytes);
        if (countOnCall)
        {
            tx.Execute("UPDATE calls SET input_count = input_count + $2, unfinished = unfinished + $2, finished_ms = NULL WHERE id = $1",
                callId, inputs.Count);
        }
        signals.Add(s => s.WorkReady());
        return ids;
    }

    private const string CallColumns =
        "c.id, c.function_id, f.name, f.app_id, c.invocation, c.parent_input_id, c.is_generator, c.created_ms, c.input_count, c.unfinished, " +
        "c.inputs_complete, c.cancelled, c.gen_attempt";

    private static CallRow ReadCall(Microsoft.Data.Sqlite.SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), SqliteTx.NullableString(r, 5), r.GetInt32(6) != 0,
        r.GetInt64(7), r.GetInt32(8), r.GetInt32(9), r.GetInt32(10) != 0, r.GetInt32(11) != 0, r.GetInt32(12));

    public Task<CallRow?> GetCallAsync(string callId) => ReadAsync(tx =>
        tx.Single($"SELECT {CallColumns} FROM calls c JOIN functions f ON f.id = c.function_id WHERE c.id = $1", ReadCall, callId));

    public Task<IReadOnlyList<string>?> CancelCallAsync(string callId, bool terminateContainers) =>
        WriteAsync<IReadOnlyList<string>?>((tx, now, signals) =>
        {
            if (tx.Scalar<string>("SELECT id FROM calls WHERE id = $1", callId) is null)
            {
                return null;
            }
            tx.Execute("UPDATE calls SET cancelled = 1 WHERE id = $1", callId);
            var inputs = tx.Query("SELECT id, holder FROM inputs WHERE call_id = $1 AND status = 0",
                r => (Id: r.GetString(0), Holder: SqliteTx.NullableString(r, 1)), callId);
            var containers = inputs.Where(i => i.Holder is not null).Select(i => i.Holder!).Distinct(StringComparer.Ordinal).ToList();
            byte[] result = Outcomes.Terminated();
            foreach (var input in inputs)
            {
                FinishInput(tx, input.Id, (int)InputStatus.Terminated, result);
            }
            if (terminateContainers)
            {
                foreach (string container in containers)
                {
                    tx.Execute("UPDATE containers SET stop_requested = 1, kill_requested = 1 WHERE id = $1", container);
                }
            }
            signals.Add(s => s.CallChanged(callId));
            return containers;
        });

    public Task<OutputPage> ReadOutputsAsync(string callId, long afterSequence, int max) => ReadAsync(tx =>
    {
        int? unfinished = tx.Scalar<int?>("SELECT unfinished FROM calls WHERE id = $1", callId);
        if (unfinished is null)
        {
            return new OutputPage([], 0, Known: false);
        }
        var rows = tx.Query("SELECT seq, input_id, idx, result FROM outputs WHERE call_id = $1 AND seq > $2 ORDER BY seq LIMIT $3 + 0",
            r => new OutputRow(r.GetInt64(0), r.GetString(1), r.GetInt32(2), SqliteTx.Bytes(r, 3)), callId, afterSequence, max);
        return new OutputPage(rows, unfinished.Value, Known: true);
    });

    public Task<ChunkPage> ReadChunksAsync(string callId, long startIndex, int max) => ReadAsync(tx =>
    {
        var call = tx.Single("SELECT gen_attempt, unfinished, input_count FROM calls WHERE id = $1",
            r => new { Attempt = r.GetInt32(0), Unfinished = r.GetInt32(1), Inputs = r.GetInt32(2) }, callId);
        if (call is null)
        {
            return new ChunkPage(0, [], false, null, Known: false);
        }
        var chunks = tx.Query("SELECT idx, data FROM chunks WHERE call_id = $1 AND attempt = $2 AND idx >= $3 ORDER BY idx LIMIT $4 + 0",
            r => new ChunkRecord(r.GetInt64(0), SqliteTx.Bytes(r, 1)), callId, call.Attempt, startIndex, max);
        bool finished = call.Inputs > 0 && call.Unfinished == 0;
        byte[]? result = finished
            ? tx.Scalar<byte[]>("SELECT result FROM outputs WHERE call_id = $1 ORDER BY seq LIMIT 1", callId)
            : null;
        return new ChunkPage(call.Attempt, chunks, finished, result, Known: true);
    });

    public Task<IReadOnlyList<CallGraphRow>> ReadCallGraphAsync(string rootCallId) => ReadAsync<IReadOnlyList<CallGraphRow>>(tx =>
        tx.Query(
            "WITH RECURSIVE tree(id) AS (SELECT id FROM inputs WHERE call_id = $1 " +
            "UNION SELECT i.id FROM inputs i JOIN tree t ON i.parent_input_id = t.id) " +
            "SELECT i.id, i.call_id, f.name, i.status, i.parent_input_id FROM inputs i JOIN tree t ON i.id = t.id " +
            "LEFT JOIN functions f ON f.id = i.function_id ORDER BY i.rowid",
            r => new CallGraphRow(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? "" : r.GetString(2), r.GetInt32(3), SqliteTx.NullableString(r, 4)),
            rootCallId));

    public Task<string?> GetInputAppIdAsync(string inputId) => ReadAsync(tx =>
        tx.Scalar<string>("SELECT f.app_id FROM inputs i JOIN functions f ON f.id = i.function_id WHERE i.id = $1", inputId));

    /// <summary>
    /// Ends an unfinished input with its one output (written with the operation's other outputs before its savepoint is
    /// released: the next sequence numbers of its call, counters adjusted, the call's watchers signalled after commit).
    /// False when it had already finished.
    /// </summary>
    private static bool FinishInput(SqliteTx tx, string inputId, int status, byte[] result)
    {
        return tx.Finisher.Finish(tx, inputId, status, result);
    }

    /// <summary>A container's inputs ended: that many slots fewer running; idle from now when they were its last.</summary>
    internal static void ReleaseSlots(SqliteTx tx, string containerId, int count, long now) =>
        tx.Execute("UPDATE containers SET running = running - $2, idle_since_ms = CASE WHEN running = $2 THEN $3 ELSE idle_since_ms END WHERE id = $1",
            containerId, count, now);
}
