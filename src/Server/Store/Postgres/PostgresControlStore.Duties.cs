namespace Modal.Server.Store;

internal sealed partial class PostgresControlStore
{
    private static readonly string[] CountedTables =
        ["apps", "app_versions", "functions", "calls", "inputs", "outputs", "chunks", "containers", "idempotency", "blobs"];

    public Task<IReadOnlyList<FunctionLoad>> ReadLoadAsync() => ReadAsync<IReadOnlyList<FunctionLoad>>(async tx =>
        await tx.QueryAsync(
            "SELECT f.id, a.id, a.name, a.kind, f.spec, COALESCE(v.launch, a.launch), f.warm_pool, f.ready, f.running, f.startup_failures, " +
            "f.last_startup_error, (SELECT MIN(i.ready_at_ms) FROM inputs i WHERE i.function_id = f.id AND i.status = 0 AND i.holder IS NULL), " +
            "modal_now_ms(), f.version < a.version, f.scale_min, f.scale_max, f.scale_buffer, f.scale_scaledown_s " +
            "FROM functions f JOIN apps a ON a.id = f.app_id " +
            "LEFT JOIN app_versions v ON v.app_id = f.app_id AND v.version = f.version WHERE NOT a.stopped ORDER BY a.created_ms, f.id",
            r =>
            {
                long? oldestReadyAt = r.IsDBNull(11) ? null : r.GetInt64(11);
                long now = r.GetInt64(12);
                return new FunctionLoad(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), PostgresTx.Bytes(r, 4), PostgresTx.Bytes(r, 5),
                    r.GetInt32(6), r.GetInt64(7), r.GetInt64(8), oldestReadyAt is { } due && due > now ? due - now : 0, r.GetInt32(9),
                    PostgresTx.NullableString(r, 10), oldestReadyAt is { } at && at <= now ? now - at : 0, r.GetBoolean(13))
                {
                    Autoscaler = AutoscalerOverride.Read(r, 14),
                };
            }).ConfigureAwait(false));

    public Task<FunctionStatsRow?> ReadFunctionStatsAsync(string functionId) => ReadAsync(async tx =>
        await tx.SingleAsync("SELECT f.ready, (SELECT COUNT(*) FROM containers c WHERE c.function_id = f.id AND NOT c.stop_requested)::integer " +
            "FROM functions f WHERE f.id = $1", r => new FunctionStatsRow(r.GetInt64(0), r.GetInt32(1)), functionId).ConfigureAwait(false));

    public Task<AppProgress> ReadAppProgressAsync(string appId, long finishedSinceMs, int maxCalls) => ReadAsync(async tx =>
    {
        var calls = await tx.QueryAsync(
            "SELECT c.id, c.function_id, f.name, c.invocation, c.parent_input_id, c.created_ms, c.input_count, c.input_count - c.unfinished, " +
            "c.inputs_complete, c.finished_ms FROM calls c JOIN functions f ON f.id = c.function_id " +
            "WHERE f.app_id = $1 AND (c.finished_ms IS NULL OR c.finished_ms >= $2) " +
            "ORDER BY c.finished_ms IS NULL DESC, c.created_ms DESC, c.id DESC LIMIT $3",
            r => new CallProgressRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), PostgresTx.NullableString(r, 4), r.GetInt64(5),
                r.GetInt32(6), r.GetInt32(7), r.GetBoolean(8), r.IsDBNull(9) ? null : r.GetInt64(9)),
            appId, finishedSinceMs, maxCalls).ConfigureAwait(false);
        var functions = await tx.QueryAsync(
            "SELECT f.id, f.name, f.ready, f.running, " +
            "(SELECT COUNT(*) FROM containers c WHERE c.function_id = f.id AND NOT c.stop_requested AND NOT c.said_hello)::integer, " +
            "(SELECT COUNT(*) FROM containers c WHERE c.function_id = f.id AND NOT c.stop_requested AND c.said_hello)::integer " +
            // The newest version's functions, and an older version's while it still has work (it drains).
            "FROM functions f JOIN apps a ON a.id = f.app_id WHERE f.app_id = $1 AND (f.version = a.version OR f.ready > 0 OR f.running > 0) " +
            "ORDER BY f.name COLLATE \"C\", f.version",
            r => new FunctionProgressRow(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetInt32(4), r.GetInt32(5)), appId)
            .ConfigureAwait(false);
        return new AppProgress(calls, functions);
    });

    public Task<bool> TryLeadAsync(string replicaId, long ttlMs) => WriteAsync(async tx =>
        await tx.ScalarAsync<string>(
            "INSERT INTO leader(name, holder, expires_ms) VALUES('leader', $1, modal_now_ms() + $2) ON CONFLICT (name) DO UPDATE " +
            "SET holder = excluded.holder, expires_ms = excluded.expires_ms WHERE leader.holder = $1 OR leader.expires_ms < modal_now_ms() " +
            "RETURNING holder", replicaId, ttlMs).ConfigureAwait(false) is not null);

    public Task ResignAsync(string replicaId) => WriteAsync(async tx =>
    {
        await tx.ExecuteBatchAsync([
            ("DELETE FROM replicas WHERE id = $1", [replicaId]),
            ("DELETE FROM leader WHERE name = 'leader' AND holder = $1", [replicaId]),
        ]).ConfigureAwait(false);
        return true;
    });

    public Task RegisterReplicaAsync(string replicaId, string url, long ttlMs) => WriteAsync(async tx =>
    {
        await tx.ExecuteBatchAsync([
            ("DELETE FROM replicas WHERE expires_ms < modal_now_ms()", []),
            ("INSERT INTO replicas(id, url, expires_ms) VALUES($1, $2, modal_now_ms() + $3) ON CONFLICT (id) DO UPDATE SET url = excluded.url, " +
                "expires_ms = excluded.expires_ms", [replicaId, url, ttlMs]),
        ]).ConfigureAwait(false);
        return true;
    });

    public Task<IReadOnlyList<string>> ListReplicaUrlsAsync() => ReadAsync<IReadOnlyList<string>>(async tx =>
        await tx.QueryAsync("SELECT url FROM replicas WHERE expires_ms >= modal_now_ms() GROUP BY url ORDER BY url COLLATE \"C\"", r => r.GetString(0))
            .ConfigureAwait(false));

    public Task<RetentionResult> DeleteExpiredAsync(long callRetentionMs, long syncOutputRetentionMs, int maxRows) => WriteAsync(async tx =>
    {
        // Rows another transaction holds are skipped: the next sweep takes them.
        var calls = (await tx.QueryAsync(
            "SELECT id FROM calls WHERE finished_ms IS NOT NULL AND unfinished = 0 AND " +
            "finished_ms < modal_now_ms() - CASE WHEN invocation = 0 THEN $1 ELSE $2 END LIMIT $3 FOR UPDATE SKIP LOCKED",
            r => r.GetString(0), syncOutputRetentionMs, callRetentionMs, maxRows).ConfigureAwait(false)).ToArray();
        if (calls.Length > 0)
        {
            await tx.ExecuteBatchAsync([
                ("DELETE FROM outputs WHERE call_id = ANY($1)", [calls]),
                ("DELETE FROM chunks WHERE call_id = ANY($1)", [calls]),
                ("DELETE FROM inputs WHERE call_id = ANY($1)", [calls]),
                ("DELETE FROM idempotency WHERE call_id = ANY($1)", [calls]),
                ("DELETE FROM calls WHERE id = ANY($1)", [calls]),
            ]).ConfigureAwait(false);
        }
        // Keys only guard retries inside a client's retry window; an hour is ample.
        await tx.ExecuteAsync(
            "DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency WHERE created_ms < modal_now_ms() - 3600000 LIMIT $1 FOR UPDATE SKIP LOCKED)",
            maxRows).ConfigureAwait(false);
        // A stopped app goes once nothing of it is left: no container, no call kept for retention.
        var apps = (await tx.QueryAsync(
            "SELECT a.id FROM apps a WHERE a.stopped AND NOT EXISTS (SELECT 1 FROM containers c WHERE c.app_id = a.id) " +
            "AND NOT EXISTS (SELECT 1 FROM calls c JOIN functions f ON f.id = c.function_id WHERE f.app_id = a.id) LIMIT $1 FOR UPDATE SKIP LOCKED",
            r => r.GetString(0), maxRows).ConfigureAwait(false)).ToArray();
        if (apps.Length > 0)
        {
            await tx.ExecuteBatchAsync([
                ("DELETE FROM functions WHERE app_id = ANY($1)", [apps]),
                ("DELETE FROM app_versions WHERE app_id = ANY($1)", [apps]),
                ("DELETE FROM apps WHERE id = ANY($1)", [apps]),
            ]).ConfigureAwait(false);
        }
        // A blob is never needed longer than the call that used it; a day of slack covers calls still running.
        var blobs = await tx.QueryAsync(
            "DELETE FROM blobs WHERE id IN (SELECT id FROM blobs WHERE created_ms < modal_now_ms() - $1 - 86400000 LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id",
            r => r.GetString(0), callRetentionMs, maxRows).ConfigureAwait(false);
        return new RetentionResult(calls.Length, apps.Length, blobs);
    });

    public Task InsertBlobAsync(string blobId, long size) => WriteAsync(tx => tx.ExecuteAsync(
        "INSERT INTO blobs(id, size, created_ms) VALUES($1, $2, modal_now_ms()) ON CONFLICT (id) DO UPDATE SET size = excluded.size, created_ms = excluded.created_ms",
        blobId, size));

    public Task<long?> GetBlobSizeAsync(string blobId) => ReadAsync(tx => tx.ScalarAsync<long?>("SELECT size FROM blobs WHERE id = $1", blobId));

    public Task<IReadOnlyDictionary<string, long>> CountRowsAsync() => ReadAsync<IReadOnlyDictionary<string, long>>(async tx =>
    {
        // One statement: one snapshot for every table.
        var counts = await tx.QueryAsync(
            "SELECT " + string.Join(", ", CountedTables.Select(table => $"(SELECT COUNT(*) FROM {table})")),
            r => CountedTables.Select((_, i) => r.GetInt64(i)).ToArray()).ConfigureAwait(false);
        return CountedTables.Select((table, i) => (table, counts[0][i])).ToDictionary(t => t.table, t => t.Item2, StringComparer.Ordinal);
    });
}
