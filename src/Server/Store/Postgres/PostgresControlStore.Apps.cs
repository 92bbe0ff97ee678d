using Modal.Api;
using Npgsql;

namespace Modal.Server.Store;

internal sealed partial class PostgresControlStore
{
    private const string AppColumns =
        "a.id, a.name, a.kind, CASE WHEN a.stopped THEN 'stopped' WHEN a.kind = 1 THEN 'deployed' ELSE 'running' END, a.created_ms, " +
        "a.launch, (SELECT COUNT(*)::int FROM containers c WHERE c.app_id = a.id AND NOT c.stop_requested)";

    private static AppRow ReadApp(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetInt64(4), PostgresTx.Bytes(r, 5), r.GetInt32(6));

    private const string FunctionColumns = "f.id, f.app_id, a.name, a.stopped, f.name, f.spec, f.warm_pool";

    private static FunctionRow ReadFunction(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetBoolean(3), r.GetString(4), PostgresTx.Bytes(r, 5), r.GetInt32(6));

    public Task<AppCreated> CreateAppAsync(NewApp app, IReadOnlyList<NewFunction> functions) => WriteAsync(async tx =>
    {
        string? existing = null;
        if (app.Kind == (int)AppKind.Deployed)
        {
            // Two replicas deploying one name at once: the second waits and then updates the first's app.
            await tx.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('modal-deploy:' || $1))", app.Name).ConfigureAwait(false);
            existing = await tx.ScalarAsync<string>(
                "SELECT id FROM apps WHERE name = $1 AND kind = 1 AND NOT stopped ORDER BY created_ms DESC LIMIT 1 FOR UPDATE", app.Name)
                .ConfigureAwait(false);
        }
        string appId = existing ?? app.Id;
        var outdated = new List<string>();
        if (existing is null)
        {
            await tx.ExecuteAsync(
                "INSERT INTO apps(id, name, kind, created_ms, heartbeat_ms, launch) VALUES($1, $2, $3, modal_now_ms(), modal_now_ms(), $4)",
                appId, app.Name, app.Kind, app.Launch).ConfigureAwait(false);
        }
        else
        {
            await tx.ExecuteAsync("UPDATE apps SET launch = $2, heartbeat_ms = modal_now_ms() WHERE id = $1", appId, app.Launch).ConfigureAwait(false);
            var containers = await tx.QueryAsync(
                "WITH running AS (SELECT id, stop_requested FROM containers WHERE app_id = $1 ORDER BY id FOR UPDATE) " +
                "UPDATE containers c SET stop_requested = true FROM running WHERE c.id = running.id RETURNING c.id, running.stop_requested",
                r => (Id: r.GetString(0), WasStopping: r.GetBoolean(1)), appId).ConfigureAwait(false);
            outdated.AddRange(containers.Where(c => !c.WasStopping).Select(c => c.Id).Order(StringComparer.Ordinal));
        }
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var function in functions)
        {
            var spec = FunctionSpec.Parser.ParseFrom(function.Spec);
            var retries = RetryParameters.Of(spec);
            ids[function.Name] = (await tx.ScalarAsync<string>(
                "INSERT INTO functions(id, app_id, name, spec, timeout_s, max_retries, backoff, initial_delay_ms, max_delay_ms, batch_size, batch_wait_ms) " +
                "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT(app_id, name) DO UPDATE SET spec = excluded.spec, " +
                "timeout_s = excluded.timeout_s, max_retries = excluded.max_retries, backoff = excluded.backoff, " +
                "initial_delay_ms = excluded.initial_delay_ms, max_delay_ms = excluded.max_delay_ms, batch_size = excluded.batch_size, " +
                "batch_wait_ms = excluded.batch_wait_ms, startup_failures = 0, last_startup_error = NULL RETURNING id",
                function.Id, appId, function.Name, function.Spec, FunctionLimits.TimeoutSeconds(spec), retries.MaxRetries, retries.BackoffCoefficient,
                retries.InitialDelayMs, retries.MaxDelayMs, FunctionLimits.BatchSize(spec), FunctionLimits.BatchWaitMs(spec)).ConfigureAwait(false))!;
        }
        tx.WorkReady = true;
        return new AppCreated(appId, ids, outdated);
    });

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

    public Task<FunctionRow?> FindFunctionAsync(string appName, string functionName) => ReadAsync(tx =>
        tx.SingleAsync($"SELECT {FunctionColumns} FROM functions f JOIN apps a ON a.id = f.app_id " +
            "WHERE a.name = $1 AND NOT a.stopped AND f.name = $2 ORDER BY a.kind DESC, a.created_ms DESC LIMIT 1",
            ReadFunction, appName, functionName));

    public Task<IReadOnlyList<string>> FunctionNamesAsync(string appName) => ReadAsync<IReadOnlyList<string>>(async tx =>
        await tx.QueryAsync("SELECT f.name FROM functions f WHERE f.app_id = (SELECT id FROM apps WHERE name = $1 AND NOT stopped " +
            "ORDER BY kind DESC, created_ms DESC LIMIT 1) ORDER BY f.name COLLATE \"C\"", r => r.GetString(0), appName).ConfigureAwait(false));

    public Task<bool> SetWarmPoolAsync(string functionId, int warmPool) => WriteAsync(async tx =>
    {
        tx.WorkReady = true;
        return await tx.ExecuteAsync("UPDATE functions SET warm_pool = $2 WHERE id = $1", functionId, warmPool).ConfigureAwait(false) == 1;
    });
}
