using Modal.Api;

namespace Modal.Server.Store;

internal sealed partial class PostgresControlStore
{
    public Task<FunctionRow?> GetOrCreateVariantAsync(NewVariant variant) => WriteAsync<FunctionRow?>(async tx =>
    {
        // The app's key-share lock, as enqueues take it: a stop (which locks the app for update) waits, so no variant appears in a stopped app.
        var declared = await tx.SingleAsync(
            "SELECT f.app_id, f.name, f.version, a.name, a.stopped FROM functions f JOIN apps a ON a.id = f.app_id " +
            "WHERE f.id = $1 AND f.base_id IS NULL FOR KEY SHARE OF a",
            r => new { AppId = r.GetString(0), Name = r.GetString(1), Version = r.GetInt32(2), AppName = r.GetString(3), Stopped = r.GetBoolean(4) },
            variant.BaseId).ConfigureAwait(false);
        if (declared is null)
        {
            return null;
        }
        const string Existing = $"SELECT {FunctionColumns} FROM functions f JOIN apps a ON a.id = f.app_id WHERE f.base_id = $1 AND f.variant_key = $2";
        if (await tx.SingleAsync(Existing, ReadFunction, variant.BaseId, variant.Key).ConfigureAwait(false) is { } existing)
        {
            return existing;
        }
        if (declared.Stopped)
        {
            throw StoreRejections.AppStopped(declared.AppName, declared.Name);
        }
        // Another replica making the same variant at once: the unique index makes this insert wait for its commit and then do
        // nothing, and the read below (a new snapshot, in read committed) finds that replica's row.
        await InsertFunctionAsync(tx, variant.Id, declared.AppId, declared.Name, variant.Spec, declared.Version, variant).ConfigureAwait(false);
        tx.WorkReady = true;
        return await tx.SingleAsync(Existing, ReadFunction, variant.BaseId, variant.Key).ConfigureAwait(false);
    });

    public Task<AutoscalerOverride?> UpdateAutoscalerAsync(string functionId, AutoscalerOverride update) => WriteAsync<AutoscalerOverride?>(async tx =>
    {
        var current = await tx.SingleAsync(
            "SELECT spec, scale_min, scale_max, scale_buffer, scale_scaledown_s FROM functions WHERE id = $1 FOR NO KEY UPDATE",
            r => new { Spec = FunctionSpec.Parser.ParseFrom(PostgresTx.Bytes(r, 0)), Autoscaler = AutoscalerOverride.Read(r, 1) }, functionId)
            .ConfigureAwait(false);
        if (current is null)
        {
            return null;
        }
        var merged = current.Autoscaler.Update(current.Spec, update);
        await tx.ExecuteAsync("UPDATE functions SET scale_min = $2::integer, scale_max = $3::integer, scale_buffer = $4::integer, " +
            "scale_scaledown_s = $5::integer WHERE id = $1",
            functionId, merged.MinContainers, merged.MaxContainers, merged.BufferContainers, merged.ScaledownWindowSeconds).ConfigureAwait(false);
        tx.WorkReady = true;
        return merged;
    });
}
