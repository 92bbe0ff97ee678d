namespace Modal.Server.Store;

internal sealed partial class SqliteControlStore
{
    private static readonly string[] CountedTables =
        ["apps", "app_versions", "functions", "calls", "inputs", "outputs", "chunks", "containers", "idempotency", "request_keys", "blobs"];

    public Task<IReadOnlyList<FunctionLoad>> ReadLoadAsync() => ReadAsync<IReadOnlyList<FunctionLoad>>(tx =>
    {
        long now = NowMs;
        return tx.Query(
            "SELECT f.id, a.id, a.name, a.kind, f.spec, COALESCE(v.launch, a.launch), f.warm_pool, f.ready, f.running, f.startup_failures, " +
            "f.last_startup_error, (SELECT MIN(i.ready_at_ms) FROM inputs i WHERE i.function_id = f.id AND i.status = 0 AND i.holder IS NULL), " +
            "f.version < a.version, f.scale_min, f.scale_max, f.scale_buffer, f.scale_scaledown_s FROM functions f JOIN apps a ON a.id = f.app_id " +
            "LEFT JOIN app_versions v ON v.app_id = f.app_id AND v.version = f.version WHERE a.stopped = 0",
            r =>
            {
                long? oldestReadyAt = r.IsDBNull(11) ? null : r.GetInt64(11);
                return new FunctionLoad(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), SqliteTx.Bytes(r, 4), SqliteTx.Bytes(r, 5),
                    r.GetInt32(6), r.GetInt64(7), r.GetInt64(8), oldestReadyAt is { } due && due > now ? due - now : 0, r.GetInt32(9),
                    SqliteTx.NullableString(r, 10), oldestReadyAt is { } at && at <= now ? now - at : 0, r.GetInt32(12) != 0)
                {
                    Autoscaler = AutoscalerOverride.Read(r, 13),
                };
            });
    });

    public Task<FunctionStatsRow?> ReadFunctionStatsAsync(string functionId) => ReadAsync(tx =>
        tx.Single("SELECT f.ready, (SELECT COUNT(*) FROM containers c WHERE c.function_id = f.id AND c.stop_requested = 0) " +
            "FROM functions f WHERE f.id = $1", r => new FunctionStatsRow(r.GetInt64(0), r.GetInt32(1)), functionId));

    public Task<AppProgress> ReadAppProgressAsync(string appId, long finishedSinceMs, int maxCalls) => ReadAsync(tx =>
    {
        var calls = tx.Query(
            "SELECT c.id, c.function_id, f.name, c.invocation, c.parent_input_id, c.created_ms, c.input_count, c.input_count - c.unfinished, " +
            "c.inputs_complete, c.finished_ms FROM calls c JOIN functions f ON f.id = c.function_id " +
            "WHERE f.app_id = $1 AND (c.finished_ms IS NULL OR c.finished_ms >= $2) " +
            "ORDER BY c.finished_ms IS NULL DESC, c.created_ms DESC, c.id DESC LIMIT $3 + 0",
            r => new CallProgressRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), SqliteTx.NullableString(r, 4), r.GetInt64(5),
                r.GetInt32(6), r.GetInt32(7), r.GetInt32(8) != 0, r.IsDBNull(9) ? null : r.GetInt64(9)),
            appId, finishedSinceMs, maxCalls);
        var functions = tx.Query(
            "SELECT f.id, f.name, f.ready, f.running, " +
            "(SELECT COUNT(*) FROM containers c WHERE c.function_id = f.id AND c.stop_requested = 0 AND c.said_hello = 0), " +
            "(SELECT COUNT(*) FROM containers c WHERE c.function_id = f.id AND c.stop_requested = 0 AND c.said_hello = 1) " +
            // The newest version's functions, and an older version's while it still has work (it drains).
            "FROM functions f JOIN apps a ON a.id = f.app_id WHERE f.app_id = $1 AND (f.version = a.version OR f.ready > 0 OR f.running > 0) " +
            "ORDER BY f.name, f.version",
            r => new FunctionProgressRow(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetInt32(4), r.GetInt32(5)), appId);
        return new AppProgress(calls, functions);
    });

    public Task<bool> TryLeadAsync(string replicaId, long ttlMs) => WriteAsync((tx, now, _) =>
    {
        tx.Execute("INSERT OR IGNORE INTO leader(name, holder, expires_ms) VALUES('leader', $1, $2)", replicaId, now + ttlMs);
        return tx.Execute("UPDATE leader SET holder = $1, expires_ms = $2 WHERE name = 'leader' AND (holder = $1 OR expires_ms < $3)",
            replicaId, now + ttlMs, now) == 1;
    });

    public Task ResignAsync(string replicaId) => WriteAsync((tx, _, _) =>
    {
        tx.Execute("DELETE FROM replicas WHERE id = $1", replicaId);
        return tx.Execute("DELETE FROM leader WHERE name = 'leader' AND holder = $1", replicaId);
    });

    public Task RegisterReplicaAsync(string replicaId, string url, long ttlMs) => WriteAsync((tx, now, _) =>
    {
        tx.Execute("DELETE FROM replicas WHERE expires_ms < $1", now);
        return tx.Execute("INSERT INTO replicas(id, url, expires_ms) VALUES($1, $2, $3) ON CONFLICT(id) DO UPDATE SET url = excluded.url, " +
            "expires_ms = excluded.expires_ms", replicaId, url, now + ttlMs);
    });

    public Task<IReadOnlyList<string>> ListReplicaUrlsAsync() => ReadAsync<IReadOnlyList<string>>(tx =>
        tx.Query("SELECT DISTINCT url FROM replicas WHERE expires_ms >= $1 ORDER BY url", r => r.GetString(0), NowMs));

    public Task<RetentionResult> DeleteExpiredAsync(long callRetentionMs, long syncOutputRetentionMs, int maxRows) => WriteAsync((tx, now, _) =>
    {
        var calls = tx.Query(
            "SELECT id FROM calls WHERE finished_ms IS NOT NULL AND unfinished = 0 AND " +
            "finished_ms < CASE WHEN invocation = 0 THEN $1 ELSE $2 END LIMIT $3 + 0",
            r => r.GetString(0), now - syncOutputRetentionMs, now - callRetentionMs, maxRows);
        foreach (string callId in calls)
        {
            tx.Execute("DELETE FROM outputs WHERE call_id = $1", callId);
            tx.Execute("DELETE FROM chunks WHERE call_id = $1", callId);
            tx.Execute("DELETE FROM inputs WHERE call_id = $1", callId);
            tx.Execute("DELETE FROM idempotency WHERE call_id = $1", callId);
            tx.Execute("DELETE FROM calls WHERE id = $1", callId);
        }
        // Keys only guard retries inside a client's retry window; an hour is ample.
        tx.Execute("DELETE FROM idempotency WHERE created_ms < $1", now - 3_600_000);
        tx.Execute("DELETE FROM request_keys WHERE created_ms < $1", now - 3_600_000);
        // A stopped app goes once nothing of it is left: no container, no call kept for retention.
        var apps = tx.Query(
            "SELECT a.id FROM apps a WHERE a.stopped = 1 AND NOT EXISTS (SELECT 1 FROM containers c WHERE c.app_id = a.id) " +
            "AND NOT EXISTS (SELECT 1 FROM calls c JOIN functions f ON f.id = c.function_id WHERE f.app_id = a.id) LIMIT $1 + 0",
            r => r.GetString(0), maxRows);
        foreach (string appId in apps)
        {
            tx.Execute("DELETE FROM functions WHERE app_id = $1", appId);
            tx.Execute("DELETE FROM app_versions WHERE app_id = $1", appId);
            tx.Execute("DELETE FROM apps WHERE id = $1", appId);
        }
        // A blob is never needed longer than the call that used it; a day of slack covers calls still running.
        var blobs = tx.Query("SELECT id FROM blobs WHERE created_ms < $1 LIMIT $2 + 0", r => r.GetString(0), now - callRetentionMs - 86_400_000, maxRows);
        foreach (string blobId in blobs)
        {
            tx.Execute("DELETE FROM blobs WHERE id = $1", blobId);
        }
        return new RetentionResult(calls.Count, apps.Count, blobs);
    });

    public Task<string> InsertBlobAsync(string blobId, long size, string? idempotencyKey) => WriteAsync((tx, now, _) =>
    {
        tx.Execute("INSERT OR REPLACE INTO blobs(id, size, created_ms) VALUES($1, $2, $3)", blobId, size, now);
        if (string.IsNullOrEmpty(idempotencyKey))
        {
            return blobId;
        }
        // An upload with the same key that finished first keeps the key; this one's blob goes with retention, unused.
        tx.Execute("INSERT OR IGNORE INTO request_keys(key, object_id, version, created_ms) VALUES($1, $2, 0, $3)", idempotencyKey, blobId, now);
        return tx.Scalar<string>("SELECT object_id FROM request_keys WHERE key = $1", idempotencyKey) ?? blobId;
    });

    public Task<string?> FindRequestKeyAsync(string idempotencyKey) =>
        ReadAsync(tx => tx.Scalar<string?>("SELECT object_id FROM request_keys WHERE key = $1", idempotencyKey));

    public Task<long?> GetBlobSizeAsync(string blobId) => ReadAsync(tx => tx.Scalar<long?>("SELECT size FROM blobs WHERE id = $1", blobId));

    public Task<IReadOnlyDictionary<string, long>> CountRowsAsync() => ReadAsync<IReadOnlyDictionary<string, long>>(tx =>
        CountedTables.ToDictionary(table => table, table => tx.Scalar<long>($"SELECT COUNT(*) FROM {table}"), StringComparer.Ordinal));
}
