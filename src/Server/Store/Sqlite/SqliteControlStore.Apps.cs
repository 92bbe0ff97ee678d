using Modal.Api;

namespace Modal.Server.Store;

internal sealed partial class SqliteControlStore
{
    private const string AppColumns =
        "a.id, a.name, a.kind, CASE WHEN a.stopped = 1 THEN 'stopped' WHEN a.kind = 1 THEN 'deployed' ELSE 'running' END, a.created_ms, " +
        "a.launch, (SELECT COUNT(*) FROM containers c WHERE c.app_id = a.id AND c.stop_requested = 0), a.version, " +
        "COALESCE((SELECT v.digest FROM app_versions v WHERE v.app_id = a.id AND v.version = a.version), '')";

    private static AppRow ReadApp(Microsoft.Data.Sqlite.SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetInt64(4), SqliteTx.Bytes(r, 5), r.GetInt32(6), r.GetInt32(7),
            r.GetString(8));

    private const string FunctionColumns = "f.id, f.app_id, a.name, a.stopped, f.name, f.spec, f.warm_pool, f.version, a.version, " +
        "f.base_id, f.variant_key, f.overrides, f.parameters, f.scale_min, f.scale_max, f.scale_buffer, f.scale_scaledown_s";

    private static FunctionRow ReadFunction(Microsoft.Data.Sqlite.SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3) != 0, r.GetString(4), SqliteTx.Bytes(r, 5), r.GetInt32(6),
            r.GetInt32(7), r.GetInt32(8))
        {
            Variant = r.IsDBNull(9) ? null : new VariantOf(r.GetString(9), r.GetString(10), SqliteTx.Bytes(r, 11), SqliteTx.Bytes(r, 12)),
            Autoscaler = AutoscalerOverride.Read(r, 13),
        };

    /// <summary>Inserts a function row of version <paramref name="version"/>, with the spec's limits in columns of their own.</summary>
    private static void InsertFunction(SqliteTx tx, string id, string appId, string name, byte[] specBytes, int version, NewVariant? variant = null)
    {
        var spec = FunctionSpec.Parser.ParseFrom(specBytes);
        var retries = RetryParameters.Of(spec);
        tx.Execute(
            "INSERT INTO functions(id, app_id, name, spec, timeout_s, max_retries, backoff, initial_delay_ms, max_delay_ms, batch_size, batch_wait_ms, " +
            "version, base_id, variant_key, overrides, parameters) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            id, appId, name, specBytes, FunctionLimits.TimeoutSeconds(spec), retries.MaxRetries, retries.BackoffCoefficient,
            retries.InitialDelayMs, retries.MaxDelayMs, FunctionLimits.BatchSize(spec), FunctionLimits.BatchWaitMs(spec), version,
            variant?.BaseId, variant?.Key ?? "", variant?.Overrides, variant?.Parameters);
    }

    /// <summary>The newest live app of a name: deployed before running, then the newest (as lookups by name resolve it).</summary>
    private const string NewestAppOfName = "SELECT id FROM apps WHERE name = $1 AND stopped = 0 ORDER BY kind DESC, created_ms DESC LIMIT 1";

    public Task<AppCreated> CreateAppAsync(NewApp app, IReadOnlyList<NewFunction> functions) => WriteAsync((tx, now, signals) =>
    {
        if (!string.IsNullOrEmpty(app.IdempotencyKey) &&
            tx.Single("SELECT object_id, version FROM request_keys WHERE key = $1", r => new { AppId = r.GetString(0), Version = r.GetInt32(1) },
                app.IdempotencyKey) is { } replayed)
        {
            return new AppCreated(replayed.AppId, tx.Query("SELECT name, id FROM functions WHERE app_id = $1 AND version = $2 AND base_id IS NULL",
                r => (r.GetString(0), r.GetString(1)), replayed.AppId, replayed.Version).ToDictionary(StringComparer.Ordinal), replayed.Version);
        }
        bool deployed = app.Kind == (int)AppKind.Deployed;
        string? existing = deployed
            ? tx.Scalar<string>("SELECT id FROM apps WHERE name = $1 AND kind = 1 AND stopped = 0 ORDER BY created_ms DESC LIMIT 1", app.Name)
            : null;
        string appId = existing ?? app.Id;
        int version = existing is null ? (deployed ? 1 : 0) : tx.Scalar<int>("SELECT version FROM apps WHERE id = $1", appId) + 1;
        if (existing is null)
        {
            tx.Execute("INSERT INTO apps(id, name, kind, created_ms, heartbeat_ms, launch, version) VALUES($1, $2, $3, $4, $4, $5, $6)",
                appId, app.Name, app.Kind, now, app.Launch, version);
        }
        else
        {
            // The previous versions' containers keep serving the calls bound to them and are scaled down once idle.
            tx.Execute("UPDATE apps SET launch = $2, heartbeat_ms = $3, version = $4 WHERE id = $1", appId, app.Launch, now, version);
        }
        if (deployed)
        {
            tx.Execute("INSERT INTO app_versions(app_id, version, digest, launch, created_ms) VALUES($1, $2, $3, $4, $5)",
                appId, version, app.ArtifactDigest, app.Launch, now);
        }
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var function in functions)
        {
            InsertFunction(tx, function.Id, appId, function.Name, function.Spec, version);
            ids[function.Name] = function.Id;
        }
        if (!string.IsNullOrEmpty(app.IdempotencyKey))
        {
            tx.Execute("INSERT INTO request_keys(key, object_id, version, created_ms) VALUES($1, $2, $3, $4)", app.IdempotencyKey, appId, version, now);
        }
        signals.Add(s => s.WorkReady());
        return new AppCreated(appId, ids, version);
    });

    public Task<IReadOnlyList<AppVersionRow>> ListVersionsAsync(string appName) => ReadAsync<IReadOnlyList<AppVersionRow>>(tx =>
        tx.Query($"SELECT version, digest, created_ms FROM app_versions WHERE app_id = ({NewestAppOfName}) ORDER BY version",
            r => new AppVersionRow(r.GetInt32(0), r.GetString(1), r.GetInt64(2)), appName));

    public Task<bool> HeartbeatAppAsync(string appId) => WriteAsync((tx, now, _) =>
        tx.Execute("UPDATE apps SET heartbeat_ms = $2 WHERE id = $1 AND stopped = 0", appId, now) == 1);

    public Task<bool?> StopAppAsync(string appId) => WriteAsync<bool?>((tx, now, signals) =>
    {
        int? stopped = tx.Scalar<int?>("SELECT stopped FROM apps WHERE id = $1", appId);
        if (stopped is null)
        {
            return null;
        }
        if (stopped == 1)
        {
            return false;
        }
        StopApp(tx, appId, now, signals);
        return true;
    });

    /// <summary>Marks the app stopped, ends its unfinished inputs as Terminated, and asks its containers to stop.</summary>
    private static void StopApp(SqliteTx tx, string appId, long now, List<Action<StoreSignals>> signals)
    {
        tx.Execute("UPDATE apps SET stopped = 1, stopped_ms = $2 WHERE id = $1", appId, now);
        tx.Execute("UPDATE containers SET stop_requested = 1, kill_requested = 1 WHERE app_id = $1", appId);
        var inputs = tx.Query(
            "SELECT i.id FROM inputs i JOIN functions f ON f.id = i.function_id WHERE f.app_id = $1 AND i.status = 0",
            r => r.GetString(0), appId);
        byte[] result = Outcomes.AppStopped();
        foreach (string inputId in inputs)
        {
            FinishInput(tx, inputId, (int)InputStatus.Terminated, result);
        }
    }

    public async Task<IReadOnlyList<string>> StopSilentAppsAsync(long timeoutMs)
    {
        // The leader asks several times a second: look first, so that an idle server commits nothing.
        long cutoff = NowMs - timeoutMs;
        if (await ReadAsync(tx => tx.Scalar<int?>("SELECT 1 FROM apps WHERE kind = 0 AND stopped = 0 AND heartbeat_ms < $1 LIMIT 1", cutoff))
                .ConfigureAwait(false) is null)
        {
            return [];
        }
        return await StopSilentAppsNowAsync(timeoutMs).ConfigureAwait(false);
    }

    private Task<IReadOnlyList<string>> StopSilentAppsNowAsync(long timeoutMs) => WriteAsync<IReadOnlyList<string>>((tx, now, signals) =>
    {
        var silent = tx.Query("SELECT id FROM apps WHERE kind = 0 AND stopped = 0 AND heartbeat_ms < $1", r => r.GetString(0), now - timeoutMs);
        foreach (string appId in silent)
        {
            StopApp(tx, appId, now, signals);
        }
        return silent;
    });

    public Task<AppRow?> GetAppAsync(string appId) => ReadAsync(tx =>
        tx.Single($"SELECT {AppColumns} FROM apps a WHERE a.id = $1", ReadApp, appId));

    public Task<IReadOnlyList<AppRow>> ListAppsAsync(bool includeStopped) => ReadAsync<IReadOnlyList<AppRow>>(tx =>
        tx.Query($"SELECT {AppColumns} FROM apps a WHERE a.stopped = 0 OR $1 ORDER BY a.created_ms", ReadApp, includeStopped));

    public Task<FunctionRow?> GetFunctionAsync(string functionId) => ReadAsync(tx =>
        tx.Single($"SELECT {FunctionColumns} FROM functions f JOIN apps a ON a.id = f.app_id WHERE f.id = $1", ReadFunction, functionId));

    public Task<FunctionRow?> FindFunctionAsync(string appName, string functionName, int? version = null) => ReadAsync(tx =>
        tx.Single($"SELECT {FunctionColumns} FROM functions f JOIN apps a ON a.id = f.app_id " +
            $"WHERE a.id = ({NewestAppOfName}) AND f.name = $2 AND f.version = COALESCE($3, a.version) AND f.base_id IS NULL",
            ReadFunction, appName, functionName, version));

    public Task<IReadOnlyList<string>> FunctionNamesAsync(string appName, int? version = null) => ReadAsync<IReadOnlyList<string>>(tx =>
        tx.Query($"SELECT f.name FROM functions f JOIN apps a ON a.id = f.app_id WHERE a.id = ({NewestAppOfName}) " +
            "AND f.version = COALESCE($2, a.version) AND f.base_id IS NULL ORDER BY f.name", r => r.GetString(0), appName, version));

    public Task<IReadOnlyList<FunctionRow>> ListNewestFunctionsAsync(string? appName) => ReadAsync<IReadOnlyList<FunctionRow>>(tx =>
        tx.Query($"SELECT {FunctionColumns} FROM functions f JOIN apps a ON a.id = f.app_id " +
            "WHERE a.stopped = 0 AND ($1 IS NULL OR a.name = $1) AND f.version = a.version AND f.base_id IS NULL AND a.id = " +
            "(SELECT n.id FROM apps n WHERE n.name = a.name AND n.stopped = 0 ORDER BY n.kind DESC, n.created_ms DESC LIMIT 1) " +
            "ORDER BY a.name, f.name", ReadFunction, appName));

    public Task<bool> SetWarmPoolAsync(string functionId, int warmPool) => WriteAsync((tx, _, signals) =>
    {
        signals.Add(s => s.WorkReady());
        return tx.Execute("UPDATE functions SET warm_pool = $2 WHERE id = $1", functionId, warmPool) == 1;
    });
}
