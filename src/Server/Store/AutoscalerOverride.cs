using Modal.Api;

namespace Modal.Server.Store;

/// <summary>
/// A function's autoscaler settings as FunctionUpdateAutoscaler changed them over its spec; a null field keeps the spec's
/// value. Kept beside the spec (not written into it), so that the spec stays what the app declared and the autoscaler
/// reads the two together (<see cref="ApplyTo"/>).
/// </summary>
internal sealed record AutoscalerOverride(int? MinContainers, int? MaxContainers, int? BufferContainers, int? ScaledownWindowSeconds)
{
    /// <summary>No update: the spec's settings.</summary>
    public static readonly AutoscalerOverride None = new(null, null, null, null);

    /// <summary>These settings with the fields <paramref name="later"/> sets replacing them.</summary>
    public AutoscalerOverride Then(AutoscalerOverride later) => new(
        later.MinContainers ?? MinContainers, later.MaxContainers ?? MaxContainers, later.BufferContainers ?? BufferContainers,
        later.ScaledownWindowSeconds ?? ScaledownWindowSeconds);

    /// <summary>The spec with these settings laid over it (the spec itself when there are none).</summary>
    public FunctionSpec ApplyTo(FunctionSpec spec)
    {
        if (this == None)
        {
            return spec;
        }
        var effective = spec.Clone();
        effective.MinContainers = MinContainers ?? spec.MinContainers;
        effective.MaxContainers = MaxContainers ?? spec.MaxContainers;
        effective.BufferContainers = BufferContainers ?? spec.BufferContainers;
        effective.ScaledownWindowSeconds = ScaledownWindowSeconds ?? spec.ScaledownWindowSeconds;
        return effective;
    }

    /// <summary>
    /// The settings after <paramref name="update"/>, for the store to write in the same transaction that read
    /// <paramref name="spec"/> and these; a StoreRejection when the result would have more minimum than maximum containers.
    /// </summary>
    public AutoscalerOverride Update(FunctionSpec spec, AutoscalerOverride update)
    {
        var merged = Then(update);
        var effective = merged.ApplyTo(spec);
        if (effective.MaxContainers > 0 && effective.MinContainers > effective.MaxContainers)
        {
            throw new StoreRejection(StoreRejectionKind.InvalidArgument,
                $"Function {spec.Name}: min_containers would be {effective.MinContainers} and max_containers {effective.MaxContainers}; the minimum " +
                "cannot be above the maximum. Lower min_containers or raise max_containers (both may be set in one update).");
        }
        return merged;
    }

    /// <summary>Reads the four nullable columns at <paramref name="first"/>.</summary>
    public static AutoscalerOverride Read(System.Data.Common.DbDataReader reader, int first)
    {
        int? At(int column) => reader.IsDBNull(column) ? null : reader.GetInt32(column);
        var read = new AutoscalerOverride(At(first), At(first + 1), At(first + 2), At(first + 3));
        return read == None ? None : read;
    }
}
