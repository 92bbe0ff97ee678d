using Modal.Api;
using Npgsql;

namespace Modal.Server.Store;

internal sealed partial class PostgresControlStore
{
    public Task<Enqueued> CreateCallAsync(NewCall call, IReadOnlyList<NewInput> inputs, string? idempotencyKey, BacklogLimits limits,
        ContainerCredit? claimFor = null) =>
        WriteAsync(async tx =>
        {
            if (await ClaimKeyAsync(tx, idempotencyKey, call.Id, call.FunctionId, inputs).ConfigureAwait(false) is { } replayed)
            {
                return replayed;
            }
            // The app's key-share lock keeps StopApp (which locks the row for update) from committing in between.
            var function = await tx.SingleAsync(
                "SELECT a.stopped, a.name, f.name FROM functions f JOIN apps a ON a.id = f.app_id WHERE f.id = $1 FOR KEY SHARE OF a",
                r => new { Stopped = r.GetBoolean(0), AppName = r.GetString(1), Name = r.GetString(2) }, call.FunctionId).ConfigureAwait(false)
                ?? throw StoreRejections.FunctionNotFound(call.FunctionId);
            if (function.Stopped)
            {
                throw StoreRejections.AppStopped(function.AppName, function.Name);
            }
            // The claimant's lock comes before the function's counters (AddInputsAsync), in the order every transaction takes them.
            var claimants = claimFor is null ? null : await LockClaimantsAsync(tx, call.FunctionId, [claimFor]).ConfigureAwait(false);
            await tx.ExecuteAsync(
                "INSERT INTO calls(id, function_id, invocation, parent_input_id, is_generator, created_ms, input_count, unfinished) " +
                "VALUES($1, $2, $3, $4::text, $5, modal_now_ms(), $6, $6)",
                call.Id, call.FunctionId, call.Invocation, call.ParentInputId, call.IsGenerator, inputs.Count).ConfigureAwait(false);
            await AddInputsAsync(tx, call.Id, call.FunctionId, call.ParentInputId, inputs, limits).ConfigureAwait(false);
            // A warm worker of the calling replica takes the input in this same transaction, with no dispatcher round.
            var claimed = claimants is null ? null : await ClaimInAsync(tx, call.FunctionId, claimants).ConfigureAwait(false);
            return new Enqueued(call.Id, call.FunctionId, inputs.Select(i => i.Id).ToList(), Replayed: false, claimed);
        });

    public Task<Enqueued> PutInputsAsync(string callId, IReadOnlyList<NewInput> inputs, bool last, string? idempotencyKey, BacklogLimits limits) =>
        WriteAsync(async tx =>
        {
            if (!string.IsNullOrEmpty(idempotencyKey) &&
                await ReplayAsync(tx, "SELECT call_id, function_id, input_ids FROM idempotency WHERE key = $1", idempotencyKey).ConfigureAwait(false)
                    is { } early)
            {
                return early;
            }
            string? functionId = await tx.ScalarAsync<string>("SELECT function_id FROM calls WHERE id = $1", callId).ConfigureAwait(false);
            if (functionId is not null &&
                await ClaimKeyAsync(tx, idempotencyKey, callId, functionId, inputs).ConfigureAwait(false) is { } replayed)
            {
                return replayed;
            }
            // Locks: the app (key share, against StopApp), then the call (against CancelCall and a concurrent last).
            var call = await tx.SingleAsync(
                "SELECT c.function_id, c.parent_input_id, c.cancelled, c.inputs_complete, a.stopped, a.name FROM calls c " +
                "JOIN functions f ON f.id = c.function_id JOIN apps a ON a.id = f.app_id WHERE c.id = $1 FOR KEY SHARE OF a FOR UPDATE OF c",
                r => new
                {
                    FunctionId = r.GetString(0), Parent = PostgresTx.NullableString(r, 1), Cancelled = r.GetBoolean(2),
                    Complete = r.GetBoolean(3), Stopped = r.GetBoolean(4), AppName = r.GetString(5),
                }, callId).ConfigureAwait(false)
                ?? throw StoreRejections.CallNotFound(callId);
            StoreRejections.ThrowIfClosed(callId, call.AppName, call.Stopped, call.Cancelled, call.Complete, inputs.Count);
            if (inputs.Count > 0 || last)
            {
                await tx.ExecuteAsync(
                    "UPDATE calls SET input_count = input_count + $2, unfinished = unfinished + $2, inputs_complete = inputs_complete OR $3, " +
                    "finished_ms = CASE WHEN $2 > 0 THEN NULL ELSE finished_ms END WHERE id = $1",
                    callId, inputs.Count, last).ConfigureAwait(false);
            }
            if (last)
            {
                tx.ChangedCalls.Add(callId);
            }
            await AddInputsAsync(tx, callId, call.FunctionId, call.Parent, inputs, limits).ConfigureAwait(false);
            return new Enqueued(callId, call.FunctionId, inputs.Select(i => i.Id).ToList(), Replayed: false);
        });

    /// <summary>
    /// Records an idempotency key first, so that a concurrent request with the same key waits for this transaction and
    /// then replays its result. Returns that result when the key was already used; null when this request owns it.
    /// </summary>
    private static async Task<Enqueued?> ClaimKeyAsync(PostgresTx tx, string? key, string callId, string functionId, IReadOnlyList<NewInput> inputs)
    {
        if (string.IsNullOrEmpty(key))
        {
            return null;
        }
        int inserted = await tx.ExecuteAsync(
            "INSERT INTO idempotency(key, call_id, function_id, input_ids, created_ms) VALUES($1, $2, $3, $4, modal_now_ms()) " +
            "ON CONFLICT (key) DO NOTHING",
            key, callId, functionId, inputs.Select(i => i.Id).ToArray()).ConfigureAwait(false);
        // A statement of its own: its snapshot sees the row of the transaction the insert waited for.
        return inserted == 1
            ? null
            : await ReplayAsync(tx, "SELECT call_id, function_id, input_ids FROM idempotency WHERE key = $1", key).ConfigureAwait(false);
    }

    private static Task<Enqueued?> ReplayAsync(PostgresTx tx, string sql, params object?[] values) =>
        tx.SingleAsync(sql, r => new Enqueued(r.GetString(0), r.GetString(1), r.GetFieldValue<string[]>(2), Replayed: true), values);

    /// <summary>Inserts inputs in one statement and counts them into the function's backlog, refused past its limits.</summary>
    private static async Task AddInputsAsync(PostgresTx tx, string callId, string functionId, string? parentInputId, IReadOnlyList<NewInput> inputs,
        BacklogLimits limits)
    {
        if (inputs.Count == 0)
        {
            return;
        }
        long bytes = inputs.Sum(i => (long)i.Arguments.Length);
        await tx.ExecuteAsync(
            "INSERT INTO inputs(id, call_id, function_id, idx, args, args_size, ready_at_ms, parent_input_id) " +
            "SELECT t.id, $2, $3, t.idx, t.args, length(t.args), modal_now_ms(), $4::text FROM unnest($1::text[], $5::int[], $6::bytea[]) AS t(id, idx, args)",
            inputs.Select(i => i.Id).ToArray(), callId, functionId, parentInputId, inputs.Select(i => i.Index).ToArray(),
            inputs.Select(i => i.Arguments).ToArray()).ConfigureAwait(false);
        // One conditional update checks and counts at once, so concurrent enqueues cannot both pass the limit.
        int counted = await tx.ExecuteAsync(
            "UPDATE functions SET ready = ready + $2, backlog_bytes = backlog_bytes + $3 WHERE id = $1 AND ready + $2 <= $4 AND backlog_bytes + $3 <= $5",
            functionId, (long)inputs.Count, bytes, limits.MaxInputs, limits.MaxBytes).ConfigureAwait(false);
        if (counted == 0)
        {
            var backlog = await tx.SingleAsync("SELECT ready, backlog_bytes, name FROM functions WHERE id = $1",
                r => new { Ready = r.GetInt64(0), Bytes = r.GetInt64(1), Name = r.GetString(2) }, functionId).ConfigureAwait(false);
            throw StoreRejections.BacklogFull(backlog?.Name, backlog?.Ready ?? 0, backlog?.Bytes ?? 0, inputs.Count, bytes, limits);
        }
        tx.WorkReady = true;
    }

    private const string CallColumns =
        "c.id, c.function_id, f.name, f.app_id, c.invocation, c.parent_input_id, c.is_generator, c.created_ms, c.input_count, c.unfinished, " +
        "c.inputs_complete, c.cancelled, " + GeneratorAttempt;

    /// <summary>A generator call's current attempt: its one input's (a claim increments it); 0 for other calls.</summary>
    private const string GeneratorAttempt =
        "CASE WHEN c.is_generator THEN (SELECT COALESCE(MAX(i.attempt), 0) FROM inputs i WHERE i.call_id = c.id) ELSE 0 END";

    private static CallRow ReadCall(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), PostgresTx.NullableString(r, 5), r.GetBoolean(6),
        r.GetInt64(7), r.GetInt32(8), r.GetInt32(9), r.GetBoolean(10), r.GetBoolean(11), r.GetInt32(12));

    public Task<CallRow?> GetCallAsync(string callId) => ReadAsync(tx =>
        tx.SingleAsync($"SELECT {CallColumns} FROM calls c JOIN functions f ON f.id = c.function_id WHERE c.id = $1", ReadCall, callId));

    public Task<IReadOnlyList<string>?> CancelCallAsync(string callId, bool terminateContainers) =>
        WriteAsync<IReadOnlyList<string>?>(async tx =>
        {
            const string Unfinished = "SELECT id, holder FROM inputs WHERE call_id = $1 AND status = 0 ORDER BY id FOR UPDATE";
            // Inputs before the call row (the order completions lock them in); then again, for inputs added meanwhile.
            await tx.ExecuteAsync(Unfinished, callId).ConfigureAwait(false);
            if (await tx.ExecuteAsync("UPDATE calls SET cancelled = true WHERE id = $1", callId).ConfigureAwait(false) == 0)
            {
                return null;
            }
            var inputs = await tx.QueryAsync(Unfinished, r => (Id: r.GetString(0), Holder: PostgresTx.NullableString(r, 1)), callId)
                .ConfigureAwait(false);
            var containers = inputs.Where(i => i.Holder is not null).Select(i => i.Holder!).Distinct(StringComparer.Ordinal).ToList();
            byte[] result = Outcomes.Terminated();
            await FinishAsync(tx, inputs.Select(i => new Finish(i.Id, (int)InputStatus.Terminated, result)).ToList()).ConfigureAwait(false);
            if (terminateContainers && containers.Count > 0)
            {
                await tx.ExecuteAsync("UPDATE containers SET stop_requested = true, kill_requested = true WHERE id = ANY($1)", (object)containers.ToArray())
                    .ConfigureAwait(false);
            }
            tx.ChangedCalls.Add(callId);
            return containers;
        });

    public Task<OutputPage> ReadOutputsAsync(string callId, long afterSequence, int max) => ReadAsync(async tx =>
    {
        // One statement, so the unfinished count and the outputs come from one snapshot.
        var rows = await tx.QueryAsync(
            "SELECT c.unfinished, o.seq, o.input_id, o.idx, o.result FROM calls c LEFT JOIN LATERAL " +
            "(SELECT seq, input_id, idx, result FROM outputs WHERE call_id = c.id AND seq > $2 ORDER BY seq LIMIT $3) o ON true " +
            "WHERE c.id = $1 ORDER BY o.seq",
            r => (Unfinished: r.GetInt32(0), Output: r.IsDBNull(1) ? null : new OutputRow(r.GetInt64(1), r.GetString(2), r.GetInt32(3), PostgresTx.Bytes(r, 4))),
            callId, afterSequence, max).ConfigureAwait(false);
        return rows.Count == 0
            ? new OutputPage([], 0, Known: false)
            : new OutputPage(rows.Where(r => r.Output is not null).Select(r => r.Output!).ToList(), rows[0].Unfinished, Known: true);
    });

    public Task<ChunkPage> ReadChunksAsync(string callId, long startIndex, int max) => ReadAsync(async tx =>
    {
        var rows = await tx.QueryAsync(
            $"WITH c AS (SELECT c.id, c.unfinished, c.input_count, {GeneratorAttempt} AS attempt FROM calls c WHERE c.id = $1) " +
            "SELECT c.attempt, c.input_count > 0 AND c.unfinished = 0, " +
            "CASE WHEN c.input_count > 0 AND c.unfinished = 0 THEN (SELECT result FROM outputs WHERE call_id = c.id ORDER BY seq LIMIT 1) END, " +
            "k.idx, k.data FROM c LEFT JOIN LATERAL " +
            "(SELECT idx, data FROM chunks WHERE call_id = c.id AND attempt = c.attempt AND idx >= $2 ORDER BY idx LIMIT $3) k ON true ORDER BY k.idx",
            r => (Attempt: r.GetInt32(0), Finished: r.GetBoolean(1), Result: r.IsDBNull(2) ? null : PostgresTx.Bytes(r, 2),
                Chunk: r.IsDBNull(3) ? null : new ChunkRecord(r.GetInt64(3), PostgresTx.Bytes(r, 4))),
            callId, startIndex, max).ConfigureAwait(false);
        if (rows.Count == 0)
        {
            return new ChunkPage(0, [], false, null, Known: false);
        }
        var first = rows[0];
        return new ChunkPage(first.Attempt, rows.Where(r => r.Chunk is not null).Select(r => r.Chunk!).ToList(), first.Finished,
            first.Finished ? first.Result : null, Known: true);
    });

    public Task<IReadOnlyList<CallGraphRow>> ReadCallGraphAsync(string rootCallId) => ReadAsync<IReadOnlyList<CallGraphRow>>(async tx =>
        await tx.QueryAsync(
            "WITH RECURSIVE tree(id) AS (SELECT id FROM inputs WHERE call_id = $1 " +
            "UNION SELECT i.id FROM inputs i JOIN tree t ON i.parent_input_id = t.id) " +
            "SELECT i.id, i.call_id, f.name, i.status, i.parent_input_id FROM inputs i JOIN tree t ON i.id = t.id " +
            "JOIN calls c ON c.id = i.call_id LEFT JOIN functions f ON f.id = i.function_id ORDER BY c.created_ms, i.call_id, i.idx",
            r => new CallGraphRow(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? "" : r.GetString(2), r.GetInt32(3), PostgresTx.NullableString(r, 4)),
            rootCallId).ConfigureAwait(false));

    public Task<string?> GetInputAppIdAsync(string inputId) => ReadAsync(tx =>
        tx.ScalarAsync<string>("SELECT f.app_id FROM inputs i JOIN functions f ON f.id = i.function_id WHERE i.id = $1", inputId));
}
