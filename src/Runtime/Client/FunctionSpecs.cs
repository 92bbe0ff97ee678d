using Api = Modal.Api;

namespace Modal;

/// <summary>Maps a generated <see cref="FunctionDefinition"/> to the wire's <see cref="Api.FunctionSpec"/>.</summary>
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
            Retries = new Api.RetryPolicy
            {
                MaxRetries = options.Retries.MaxRetries,
                BackoffCoefficient = options.Retries.BackoffCoefficient,
                InitialDelayMs = options.Retries.InitialDelayMs,
                MaxDelayMs = options.Retries.MaxDelayMs,
            },
        };
        if (options.Batch is { } batch)
        {
            spec.Batch = new Api.BatchOptions { MaxBatchSize = batch.MaxBatchSize, WaitMs = batch.WaitMs };
        }
        return spec;
    }
}
