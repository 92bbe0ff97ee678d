using Modal.Api;

namespace Modal.Server.Store;

internal sealed partial class SqliteControlStore
{
    public Task<FunctionRow?> GetOrCreateVariantAsync(NewVariant variant) => WriteAsync<FunctionRow?>((tx, _, signals) =>
    {
        const string Base = "SELECT f.app_id, f.name, f.version, a.name, a.stopped FROM functions f JOIN apps a ON a.id = f.app_id " +
            "WHERE f.id = $1 AND f.base_id IS NULL";
        var declared = tx.Single(Base, r => new { AppId = r.GetString(0), Name = r.GetString(1), Version = r.GetInt32(2), AppName = r.GetString(3),
            Stopped = r.GetInt32(4) != 0 }, variant.BaseId);
        if (declared is null)
        {
            return null;
        }
        const string Existing = $"SELECT {FunctionColumns} FROM functions f JOIN apps a ON a.id = f.app_id WHERE f.base_id = $1 AND f.variant_key = $2";
        if (tx.Single(Existing, ReadFunction, variant.BaseId, variant.Key) is { } existing)
        {
            return existing;
        }
        if (declared.Stopped)
        {
            throw StoreRejections.AppStopped(declared.AppName, declared.Name);
        }
        InsertFunction(tx, variant.Id, declared.AppId, declared.Name, variant.Spec, declared.Version, variant);
        signals.Add(s => s.WorkReady());
        return tx.Single(Existing, ReadFunction, variant.BaseId, variant.Key);
    });

    public Task<AutoscalerOverride?> UpdateAutoscalerAsync(string functionId, AutoscalerOverride update) => WriteAsync<AutoscalerOverride?>((tx, _, signals) =>
    {
        var current = tx.Single("SELECT spec, scale_min, scale_max, scale_buffer, scale_scaledown_s FROM functions WHERE id = $1",
            r => new { Spec = FunctionSpec.Parser.ParseFrom(SqliteTx.Bytes(r, 0)), Autoscaler = AutoscalerOverride.Read(r, 1) }, functionId);
        if (current is null)
        {
            return null;
        }
        var merged = current.Autoscaler.Update(current.Spec, update);
        tx.Execute("UPDATE functions SET scale_min = $2, scale_max = $3, scale_buffer = $4, scale_scaledown_s = $5 WHERE id = $1",
            functionId, merged.MinContainers, merged.MaxContainers, merged.BufferContainers, merged.ScaledownWindowSeconds);
        signals.Add(s => s.WorkReady());
        return merged;
    });
}
