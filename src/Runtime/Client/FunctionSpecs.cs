using Api = Modal.Api;

namespace Modal;

/// <summary>
/// Maps a generated <see cref="FunctionDefinition"/> to the wire's <see cref="Api.FunctionSpec"/>, and a handle's
/// <see cref="FunctionVariant"/> to the <see cref="Api.FunctionOverrides"/> the control plane lays over it.
/// </summary>
internal static class FunctionSpecs
{
    /// <summary>The spec the control plane registers for a function.</summary>
    public static Api.FunctionSpec From(FunctionDefinition definition)
    {
        var options = definition.Options;
        var spec = new Api.FunctionSpec
        {
            Name = definition.Name,
            Kind = definition.Kind switch
            {
                FunctionKind.Generator => Api.FunctionKind.Generator,
                FunctionKind.Batched => Api.FunctionKind.Batched,
                _ => Api.FunctionKind.Unary,
            },
            Signature = definition.Signature,
            ParameterCount = definition.ParameterCount,
            HasResult = definition.HasResult,
            TimeoutSeconds = options.TimeoutSeconds,
            MinContainers = options.MinContainers,
            MaxContainers = options.MaxContainers == int.MaxValue ? 0 : options.MaxContainers,
            BufferContainers = options.BufferContainers,
            ScaledownWindowSeconds = options.ScaledownWindowSeconds,
            MaxInputs = options.MaxInputs,
            Cpu = options.Cpu,
            MemoryMb = options.MemoryMb,
            Gpu = options.Gpu ?? string.Empty,
            Retries = Retries(options.Retries),
        };
        if (options.Batch is { } batch)
        {
            spec.Batch = new Api.BatchOptions { MaxBatchSize = batch.MaxBatchSize, WaitMs = batch.WaitMs };
        }
        return spec;
    }

    /// <summary>What a variant changes in its base function's spec; the fields it leaves null stay unset.</summary>
    public static Api.FunctionOverrides Overrides(FunctionVariant variant)
    {
        var overrides = new Api.FunctionOverrides();
        if (variant.TimeoutSeconds is { } timeout) overrides.TimeoutSeconds = timeout;
        if (variant.Retries is { } retries) overrides.Retries = Retries(retries);
        if (variant.MinContainers is { } min) overrides.MinContainers = min;
        if (variant.MaxContainers is { } max) overrides.MaxContainers = max == int.MaxValue ? 0 : max;
        if (variant.BufferContainers is { } buffer) overrides.BufferContainers = buffer;
        if (variant.ScaledownWindowSeconds is { } window) overrides.ScaledownWindowSeconds = window;
        if (variant.Cpu is { } cpu) overrides.Cpu = cpu;
        if (variant.MemoryMb is { } memory) overrides.MemoryMb = memory;
        if (variant.Gpu is { } gpu) overrides.Gpu = gpu;
        if (variant.MaxInputs is { } maxInputs) overrides.MaxInputs = maxInputs;
        if (variant.TargetInputs is { } targetInputs) overrides.TargetInputs = targetInputs;
        if (variant.Batch is { } batch) overrides.Batch = new Api.BatchOptions { MaxBatchSize = batch.MaxBatchSize, WaitMs = batch.WaitMs };
        foreach (var line in (variant.Environment ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            overrides.Environment[line[..equals]] = line[(equals + 1)..];
        }
        return overrides;
    }

    private static Api.RetryPolicy Retries(RetryPolicy retries) => new()
    {
        MaxRetries = retries.MaxRetries,
        BackoffCoefficient = retries.BackoffCoefficient,
        InitialDelayMs = retries.InitialDelayMs,
        MaxDelayMs = retries.MaxDelayMs,
    };
}
