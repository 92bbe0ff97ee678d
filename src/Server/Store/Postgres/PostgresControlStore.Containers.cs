using Npgsql;

namespace Modal.Server.Store;

internal sealed partial class PostgresControlStore
{
    private const string ContainerColumns =
        "id, function_id, app_id, token_hash, CASE WHEN stop_requested THEN 'stopping' WHEN said_hello THEN 'running' ELSE 'launching' END, " +
        "replica, said_hello, stop_requested, kill_requested, launched_ms, idle_since_ms, running, slot_utilization";

    private static ContainerRow ReadContainer(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), PostgresTx.Bytes(r, 3), r.GetString(4), r.GetString(5), r.GetBoolean(6),
        r.GetBoolean(7), r.GetBoolean(8), r.GetInt64(9), r.GetInt64(10), r.GetInt32(11), r.IsDBNull(12) ? null : r.GetDouble(12));

    public Task RegisterContainerAsync(NewContainer container) => WriteAsync(tx => tx.ExecuteAsync(
        "INSERT INTO containers(id, function_id, app_id, token_hash, replica, launched_ms, startup_deadline_ms, idle_since_ms) " +
        "VALUES($1, $2, $3, $4, $5, modal_now_ms(), modal_now_ms() + $6, modal_now_ms())",
        container.Id, container.FunctionId, container.AppId, container.TokenHash, container.Replica, container.StartupTimeoutMs));

    public Task<ContainerRow?> GetContainerAsync(string containerId) => ReadAsync(tx =>
        tx.SingleAsync($"SELECT {ContainerColumns} FROM containers WHERE id = $1", ReadContainer, containerId));

    public Task<IReadOnlyList<ContainerRow>> ListContainersAsync() => ReadAsync<IReadOnlyList<ContainerRow>>(async tx =>
        await tx.QueryAsync($"SELECT {ContainerColumns} FROM containers ORDER BY launched_ms, id", ReadContainer).ConfigureAwait(false));

    public Task<bool> ContainerHelloAsync(string containerId, string? startupError, long leaseMs, bool started = true) => WriteAsync(async tx =>
    {
        string? functionId = await tx.ScalarAsync<string>(
            "UPDATE containers SET said_hello = true, lease_expires_ms = modal_now_ms() + $2 WHERE id = $1 RETURNING function_id",
            containerId, leaseMs).ConfigureAwait(false);
        if (functionId is null)
        {
            return false;
        }
        if (started && startupError is null)
        {
            await tx.ExecuteAsync("UPDATE functions SET startup_failures = 0, last_startup_error = NULL WHERE id = $1", functionId).ConfigureAwait(false);
        }
        return true;
    });

    public Task<int> RecordStartupFailureAsync(string functionId, string reason) => WriteAsync(async tx =>
        await tx.ScalarAsync<int?>(
            "UPDATE functions SET startup_failures = startup_failures + 1, last_startup_error = $2 WHERE id = $1 RETURNING startup_failures",
            functionId, reason).ConfigureAwait(false) ?? 0);

    public Task<Completed> FailQueuedInputsAsync(string functionId, byte[] result) => WriteAsync(async tx =>
    {
        var inputs = await tx.QueryAsync(
            "SELECT id FROM inputs WHERE function_id = $1 AND status = 0 AND holder IS NULL ORDER BY id FOR UPDATE SKIP LOCKED",
            r => r.GetString(0), functionId).ConfigureAwait(false);
        int status = (int)AttemptPolicy.StatusOf(result);
        var calls = await FinishAsync(tx, inputs.Select(id => new Finish(id, status, result)).ToList()).ConfigureAwait(false);
        return new Completed([.. calls], inputs.Count, 0, 0);
    });

    public Task<bool> AppendChunksAsync(string containerId, string inputId, int attempt, IReadOnlyList<ChunkRecord> chunks) =>
        WriteAsync(async tx =>
        {
            // A share lock: the attempt cannot complete (or be taken over) until these items are in.
            string? callId = await tx.ScalarAsync<string>(
                "SELECT call_id FROM inputs WHERE id = $1 AND status = 0 AND holder = $2 AND attempt = $3 FOR SHARE",
                inputId, containerId, attempt).ConfigureAwait(false);
            if (callId is null)
            {
                return false;
            }
            // A resent item (the worker retried after a lost answer) is the same item: keep the first.
            await tx.ExecuteAsync(
                "INSERT INTO chunks(call_id, attempt, idx, data) SELECT $1, $2, t.idx, t.data FROM unnest($3::bigint[], $4::bytea[]) AS t(idx, data) " +
                "ON CONFLICT DO NOTHING",
                callId, attempt, chunks.Select(c => c.Index).ToArray(), chunks.Select(c => c.Data).ToArray()).ConfigureAwait(false);
            tx.ChangedCalls.Add(callId);
            return true;
        });

    public Task<HeartbeatResult> HeartbeatContainerAsync(string containerId, IReadOnlyList<ActiveAttempt> active, long leaseMs, long graceMs,
        double? slotUtilization = null) =>
        WriteAsync(async tx =>
        {
            var held = await tx.QueryAsync(
                "SELECT c.stop_requested, i.id, i.attempt, i.claimed_ms < modal_now_ms() - $2 FROM containers c " +
                "LEFT JOIN inputs i ON i.holder = c.id AND i.status = 0 WHERE c.id = $1",
                r => (Stop: r.GetBoolean(0), Id: PostgresTx.NullableString(r, 1), Attempt: r.IsDBNull(2) ? 0 : r.GetInt32(2),
                    PastGrace: !r.IsDBNull(3) && r.GetBoolean(3)),
                containerId, graceMs).ConfigureAwait(false);
            if (held.Count == 0)
            {
                return new HeartbeatResult(false, [], true, 0);
            }
            var holding = held.Where(h => h.Id is not null).ToList();
            var reported = active.Select(a => a.InputId).ToHashSet(StringComparer.Ordinal);
            var cancelled = active.Where(a => !holding.Any(h => h.Id == a.InputId && h.Attempt == a.Attempt)).Select(a => a.InputId).ToList();
            // Held but not running there, for longer than the grace: the assignment was lost (a stream broke). Inputs
            // locked right now are being completed or ended: the next heartbeat decides about them.
            var lost = holding.Where(h => !reported.Contains(h.Id!) && h.PastGrace).Select(h => h.Id!).ToArray();
            int requeued = 0;
            if (lost.Length > 0)
            {
                var locked = await tx.QueryAsync(HeldInputQuery + "WHERE i.id = ANY($1) AND i.status = 0 AND i.holder = $2 ORDER BY i.id FOR UPDATE OF i SKIP LOCKED",
                    ReadHeldInput, lost, containerId).ConfigureAwait(false);
                await RequeueOrFailAsync(tx, locked, containerId, $"container {containerId} did not receive it", int.MaxValue).ConfigureAwait(false);
                requeued = locked.Count;
            }
            await tx.ExecuteAsync("UPDATE containers SET lease_expires_ms = modal_now_ms() + $2, said_hello = true, " +
                "slot_utilization = COALESCE($3, slot_utilization) WHERE id = $1", containerId, leaseMs, slotUtilization)
                .ConfigureAwait(false);
            return new HeartbeatResult(true, cancelled, held[0].Stop, requeued);
        });

    public Task<ContainerEnded> EndContainerAsync(string containerId, string reason, int internalFailureLimit) => WriteAsync(async tx =>
    {
        string why = $"container {containerId} stopped: {reason}";
        const string Held = HeldInputQuery + "WHERE i.holder = $1 AND i.status = 0 ORDER BY i.id FOR UPDATE OF i";
        // Its inputs before the container row (the order completions lock them in).
        var held = await tx.QueryAsync(Held, ReadHeldInput, containerId).ConfigureAwait(false);
        var finished = await RequeueOrFailAsync(tx, held, containerId, why, internalFailureLimit).ConfigureAwait(false);
        var container = await tx.SingleAsync("DELETE FROM containers WHERE id = $1 RETURNING function_id, said_hello",
            r => new { FunctionId = r.GetString(0), SaidHello = r.GetBoolean(1) }, containerId).ConfigureAwait(false);
        if (container is null)
        {
            return new ContainerEnded(false, "", false, null, 0, []);
        }
        // Inputs a claim gave it after the first look (the claim committed while this waited for the row).
        var late = await tx.QueryAsync(Held, ReadHeldInput, containerId).ConfigureAwait(false);
        finished.UnionWith(await RequeueOrFailAsync(tx, late, containerId, why, internalFailureLimit).ConfigureAwait(false));
        tx.WorkReady = true;
        return new ContainerEnded(true, container.FunctionId, container.SaidHello, null, held.Count + late.Count, [.. finished]);
    });

    public Task RequestContainerStopAsync(string containerId, bool kill) => WriteAsync(tx =>
        tx.ExecuteAsync("UPDATE containers SET stop_requested = true, kill_requested = kill_requested OR $2 WHERE id = $1", containerId, kill));

    public Task<IReadOnlyList<string>> FindExpiredContainersAsync() => ReadAsync<IReadOnlyList<string>>(async tx =>
        await tx.QueryAsync(
            "SELECT id FROM containers WHERE (said_hello AND lease_expires_ms < modal_now_ms()) OR (NOT said_hello AND startup_deadline_ms < modal_now_ms()) " +
            "ORDER BY id", r => r.GetString(0)).ConfigureAwait(false));

    public Task<IReadOnlyList<OverrunInput>> FindOverrunInputsAsync(long graceMs) => ReadAsync<IReadOnlyList<OverrunInput>>(async tx =>
        await tx.QueryAsync(
            "SELECT i.id, i.attempt, i.holder, f.name, f.timeout_s FROM inputs i JOIN functions f ON f.id = i.function_id " +
            "WHERE i.holder IS NOT NULL AND i.status = 0 AND i.deadline_ms < modal_now_ms() - $1",
            r => new OverrunInput(r.GetString(0), r.GetInt32(1), r.GetString(2), r.GetString(3), r.GetInt32(4)), graceMs).ConfigureAwait(false));
}
