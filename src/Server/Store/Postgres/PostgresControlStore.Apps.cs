using Modal.Api;
using Npgsql;

namespace Modal.Server.Store;

internal sealed partial class PostgresControlStore
{
    private const string AppColumns =
        "a.id, a.name, a.kind, CASE WHEN a.stopped THEN 'stopped' WHEN a.kind = 1 THEN 'deployed' ELSE 'running' END, a.created_ms, " +
        "a.launch, (SELECT COUNT(*)::int FROM containers c WHERE c.app_id = a.id AND NOT c.stop_requested), a.version, " +
        "COALESCE((SELECT v.digest FROM app_versions v WHERE v.app_id = a.id AND v.version = a.version), '')";

    private static AppRow ReadApp(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetInt64(4), PostgresTx.Bytes(r, 5), r.GetInt32(6), r.GetInt32(7),
            r.GetString(8));

    private const string FunctionColumns = "f.id, f.app_id, a.name, a.stopped, f.name, f.spec, f.warm_pool, f.version, a.version, " +
        "f.base_id, f.variant_key, f.overrides, f.parameters, f.scale_min, f.scale_max, f.scale_buffer, f.scale_scaledown_s";

    private static FunctionRow ReadFunction(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetBoolean(3), r.GetString(4), PostgresTx.Bytes(r, 5), r.GetInt32(6),
            r.GetInt32(7), r.GetInt32(8))
        {
            Variant = r.IsDBNull(9) ? null : new VariantOf(r.GetString(9), r.GetString(10), PostgresTx.Bytes(r, 11), PostgresTx.Bytes(r, 12)),
            Autoscaler = AutoscalerOverride.Read(r, 13),
        };

    /// <summary>
    /// Inserts a function row of version <paramref name="version"/>, with the spec's limits in columns of their own; a variant
    /// whose base already has one of its key is not inserted (the caller reads the one there).
    /// </summary>
    private static async Task InsertFunctionAsync(PostgresTx tx, string id, string appId, string name, byte[] specBytes, int version,
        NewVariant? variant = null)
    {
        var spec = FunctionSpec.Parser.ParseFrom(specBytes);
        var retries = RetryParameters.Of(spec);
        await tx.ExecuteAsync(
            "INSERT INTO functions(id, app_id, name, spec, timeout_s, max_retries, backoff, initial_delay_ms, max_delay_ms, batch_size, batch_wait_ms, " +
            "version, base_id, variant_key, overrides, parameters) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::text, $14, $15::bytea, $16::bytea) " +
            (variant is null ? "" : "ON CONFLICT (base_id, variant_key) WHERE base_id IS NOT NULL DO NOTHING"),
            id, appId, name, specBytes, FunctionLimits.TimeoutSeconds(spec), retries.MaxRetries, retries.BackoffCoefficient,
            retries.InitialDelayMs, retries.MaxDelayMs, FunctionLimits.BatchSize(spec), FunctionLimits.BatchWaitMs(spec), version,
            variant?.BaseId, variant?.Key ?? "", variant?.Overrides, variant?.Parameters).ConfigureAwait(false);
    }

    /// <summary>The newest live app of a name: deployed before running, then the newest (as lookups by name resolve it).</summary>
    private const string NewestAppOfName = "SELECT id FROM apps WHERE name = $1 AND NOT stopped ORDER BY kind DESC, created_ms DESC, id LIMIT 1";

    public Task<AppCreated> CreateAppAsync(NewApp app, IReadOnlyList<NewFunction> functions) => WriteAsync(async tx =>
    {
        // The key first: a concurrent request with the same key waits for this transaction, then replays what it made.
        if (!string.IsNullOrEmpty(app.IdempotencyKey) && await tx.ExecuteAsync(
                "INSERT INTO request_keys(key, object_id, version, created_ms) VALUES($1, '', 0, modal_now_ms()) ON CONFLICT (key) DO NOTHING",
                app.IdempotencyKey).ConfigureAwait(false) == 0)
        {
            // A statement of its own: its snapshot sees the row of the transaction the insert waited for.
            var replayed = await tx.SingleAsync("SELECT object_id, version FROM request_keys WHERE key = $1",
                r => new { AppId = r.GetString(0), Version = r.GetInt32(1) }, app.IdempotencyKey).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The idempotency key '{app.IdempotencyKey}' vanished while it was replayed.");
            var functionIds = await tx.QueryAsync("SELECT name, id FROM functions WHERE app_id = $1 AND version = $2 AND base_id IS NULL",
                r => (r.GetString(0), r.GetString(1)), replayed.AppId, replayed.Version).ConfigureAwait(false);
            return new AppCreated(replayed.AppId, functionIds.ToDictionary(StringComparer.Ordinal), replayed.Version);
        }
        bool deployed = app.Kind == (int)AppKind.Deployed;
        (string Id, int Version)? existing = null;
        if (deployed)
        {
            // Two replicas deploying one name at once: the second waits and then adds the next version to the first's app.
            await tx.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('modal-deploy:' || $1))", app.Name).ConfigureAwait(false);
            existing = (await tx.QueryAsync(
                "SELECT id, version FROM apps WHERE name = $1 AND kind = 1 AND NOT stopped ORDER BY created_ms DESC LIMIT 1 FOR UPDATE",
                r => ((string, int)?)(r.GetString(0), r.GetInt32(1)), app.Name).ConfigureAwait(false)).FirstOrDefault();
        }
        string appId = existing?.Id ?? app.Id;
        int version = existing is { } previous ? previous.Version + 1 : deployed ? 1 : 0;
        if (existing is null)
        {
            await tx.ExecuteAsync(
                "INSERT INTO apps(id, name, kind, created_ms, heartbeat_ms, launch, version) VALUES($1, $2, $3, modal_now_ms(), modal_now_ms(), $4, $5)",
                appId, app.Name, app.Kind, app.Launch, version).ConfigureAwait(false);
        }
        else
        {
            // The previous versions' containers keep serving the calls bound to them and are scaled down once idle.
            await tx.ExecuteAsync("UPDATE apps SET launch = $2, heartbeat_ms = modal_now_ms(), version = $3 WHERE id = $1", appId, app.Launch, version)
                .ConfigureAwait(false);
        }
        if (deployed)
        {
            await tx.ExecuteAsync("INSERT INTO app_versions(app_id, version, digest, launch, created_ms) VALUES($1, $2, $3, $4, modal_now_ms())",
                appId, version, app.ArtifactDigest, app.Launch).ConfigureAwait(false);
        }
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var function in functions)
        {
            await InsertFunctionAsync(tx, function.Id, appId, function.Name, function.Spec, version).ConfigureAwait(false);
            ids[function.Name] = function.Id;
        }
        if (!string.IsNullOrEmpty(app.IdempotencyKey))
        {
            await tx.ExecuteAsync("UPDATE request_keys SET object_id = $2, version = $3 WHERE key = $1", app.IdempotencyKey, appId, version)
                .ConfigureAwait(false);
        }
        tx.WorkReady = true;
        return new AppCreated(appId, ids, version);
    });

    public Task<IReadOnlyList<AppVersionRow>> ListVersionsAsync(string appName) => ReadAsync<IReadOnlyList<AppVersionRow>>(async tx =>
        await tx.QueryAsync($"SELECT version, digest, created_ms FROM app_versions WHERE app_id = ({NewestAppOfName}) ORDER BY version",
            r => new AppVersionRow(r.GetInt32(0), r.GetString(1), r.GetInt64(2)), appName).ConfigureAwait(false));

    public Task<bool> HeartbeatAppAsync(string appId) => WriteAsync(async tx =>
        await tx.ExecuteAsync("UPDATE apps SET heartbeat_ms = modal_now_ms() WHERE id = $1 AND NOT stopped", appId).ConfigureAwait(false) == 1);

    public Task<bool?> StopAppAsync(string appId) => WriteAsync<bool?>(async tx =>
    {
        var app = await tx.SingleAsync("SELECT stopped FROM apps WHERE id = $1 FOR UPDATE", r => new { Stopped = r.GetBoolean(0) }, appId)
            .ConfigureAwait(false);
        if (app is null)
        {
            return null;
        }
        if (app.Stopped)
        {
            return false;
        }
        await StopAppAsync(tx, appId).ConfigureAwait(false);
        return true;
    });

    /// <summary>
    /// Marks a locked app stopped, ends its unfinished inputs as Terminated, and asks its containers to stop. Callers
    /// enqueueing work hold the app row's key-share lock, so no input can arrive once this commits.
    /// </summary>
    private static async Task StopAppAsync(PostgresTx tx, string appId)
    {
        var inputs = await tx.QueryAsync(
            "SELECT i.id FROM inputs i JOIN functions f ON f.id = i.function_id WHERE f.app_id = $1 AND i.status = 0 ORDER BY i.id FOR UPDATE OF i",
            r => r.GetString(0), appId).ConfigureAwait(false);
        await tx.ExecuteAsync(
            "WITH app_containers AS (SELECT id FROM containers WHERE app_id = $1 ORDER BY id FOR UPDATE) " +
            "UPDATE containers c SET stop_requested = true, kill_requested = true FROM app_containers WHERE c.id = app_containers.id", appId)
            .ConfigureAwait(false);
        byte[] result = Outcomes.AppStopped();
        await FinishAsync(tx, inputs.Select(id => new Finish(id, (int)InputStatus.Terminated, result)).ToList()).ConfigureAwait(false);
        await tx.ExecuteAsync("UPDATE apps SET stopped = true, stopped_ms = modal_now_ms() WHERE id = $1", appId).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> StopSilentAppsAsync(long timeoutMs)
    {
        // The leader asks several times a second: look first, so that an idle server commits nothing.
        if (await ReadAsync(tx => tx.ScalarAsync<int?>(
                "SELECT 1 FROM apps WHERE kind = 0 AND NOT stopped AND heartbeat_ms < modal_now_ms() - $1 LIMIT 1", timeoutMs)).ConfigureAwait(false) is null)
        {
            return [];
        }
        return await StopSilentAppsNowAsync(timeoutMs).ConfigureAwait(false);
    }

    private Task<IReadOnlyList<string>> StopSilentAppsNowAsync(long timeoutMs) => WriteAsync<IReadOnlyList<string>>(async tx =>
    {
        var silent = await tx.QueryAsync(
            "SELECT id FROM apps WHERE kind = 0 AND NOT stopped AND heartbeat_ms < modal_now_ms() - $1 ORDER BY id FOR UPDATE SKIP LOCKED",
            r => r.GetString(0), timeoutMs).ConfigureAwait(false);
        foreach (string appId in silent)
        {
            await StopAppAsync(tx, appId).ConfigureAwait(false);
        }
        return silent;
    });

    public Task<AppRow?> GetAppAsync(string appId) => ReadAsync(tx =>
        tx.SingleAsync($"SELECT {AppColumns} FROM apps a WHERE a.id = $1", ReadApp, appId));

    public Task<IReadOnlyList<AppRow>> ListAppsAsync(bool includeStopped) => ReadAsync<IReadOnlyList<AppRow>>(async tx =>
        await tx.QueryAsync($"SELECT {AppColumns} FROM apps a WHERE NOT a.stopped OR $1 ORDER BY a.created_ms, a.id", ReadApp, includeStopped)
            .ConfigureAwait(false));

    public Task<FunctionRow?> GetFunctionAsync(string functionId) => ReadAsync(tx =>
        tx.SingleAsync($"SELECT {FunctionColumns} FROM functions f JOIN apps a ON a.id = f.app_id WHERE f.id = $1", ReadFunction, functionId));

    public Task<FunctionRow?> FindFunctionAsync(string appName, string functionName, int? version = null) => ReadAsync(tx =>
        tx.SingleAsync($"SELECT {FunctionColumns} FROM functions f JOIN apps a ON a.id = f.app_id " +
            $"WHERE a.id = ({NewestAppOfName}) AND f.name = $2 AND f.version = COALESCE($3::integer, a.version) AND f.base_id IS NULL",
            ReadFunction, appName, functionName, version));

    public Task<IReadOnlyList<string>> FunctionNamesAsync(string appName, int? version = null) => ReadAsync<IReadOnlyList<string>>(async tx =>
        await tx.QueryAsync($"SELECT f.name FROM functions f JOIN apps a ON a.id = f.app_id WHERE a.id = ({NewestAppOfName}) " +
            "AND f.version = COALESCE($2::integer, a.version) AND f.base_id IS NULL ORDER BY f.name COLLATE \"C\"", r => r.GetString(0), appName, version).ConfigureAwait(false));

    public Task<IReadOnlyList<FunctionRow>> ListNewestFunctionsAsync(string? appName) => ReadAsync<IReadOnlyList<FunctionRow>>(async tx =>
        await tx.QueryAsync($"SELECT {FunctionColumns} FROM functions f JOIN apps a ON a.id = f.app_id " +
            "WHERE NOT a.stopped AND ($1::text IS NULL OR a.name = $1) AND f.version = a.version AND f.base_id IS NULL AND a.id = " +
            "(SELECT n.id FROM apps n WHERE n.name = a.name AND NOT n.stopped ORDER BY n.kind DESC, n.created_ms DESC, n.id LIMIT 1) " +
            "ORDER BY a.name COLLATE \"C\", f.name COLLATE \"C\"", ReadFunction, appName).ConfigureAwait(false));

    public Task<bool> SetWarmPoolAsync(string functionId, int warmPool) => WriteAsync(async tx =>
    {
        tx.WorkReady = true;
        return await tx.ExecuteAsync("UPDATE functions SET warm_pool = $2 WHERE id = $1", functionId, warmPool).ConfigureAwait(false) == 1;
    });
}
