using Modal.Api;
using Modal.Server.Services;

namespace Modal.Server.Core;

/// <summary>
/// Checks every field of a FunctionSpec at AppCreate, so that nothing later (the autoscaler's arithmetic, claims,
/// deadlines) meets a value it cannot handle. Each message names the function, the field, the value and the range.
/// </summary>
internal static class FunctionSpecValidator
{
    public const int MaxTimeoutSeconds = 86_400;
    public const int MaxContainersLimit = 10_000;
    public const int MaxInputsLimit = 1_000;
    public const int MaxBatchSizeLimit = 1_000;
    public const int MaxBatchWaitMs = 60_000;
    public const int MaxRetriesLimit = 10;

    /// <summary>INVALID_ARGUMENT naming the app, the function, the field and its range when a field is out of range.</summary>
    /// <param name="appName">The app the spec belongs to.</param>
    /// <param name="spec">A declared function's spec, or a variant's (its base's with the overrides laid over it).</param>
    /// <param name="rpc">The request that brought the spec, for the messages of the environment check.</param>
    public static void Validate(string appName, FunctionSpec spec, string rpc = "AppCreate")
    {
        string name = spec.Name;
        void Range(string field, double value, double min, double max)
        {
            if (!double.IsFinite(value) || value < min || value > max)
            {
                throw Errors.Invalid($"App '{appName}', function '{name}': {field} is {value}; it must be between {min} and {max}.");
            }
        }
        if (string.IsNullOrWhiteSpace(name))
        {
            throw Errors.Invalid($"App '{appName}' declares a function without a name.");
        }
        Range("timeout_seconds", spec.TimeoutSeconds, 0, MaxTimeoutSeconds);
        Range("min_containers", spec.MinContainers, 0, MaxContainersLimit);
        Range("max_containers", spec.MaxContainers, 0, MaxContainersLimit);
        Range("buffer_containers", spec.BufferContainers, 0, MaxContainersLimit);
        Range("scaledown_window_seconds", spec.ScaledownWindowSeconds, 0, MaxTimeoutSeconds);
        Range("max_inputs", spec.MaxInputs, 0, MaxInputsLimit);
        Range("target_inputs", spec.TargetInputs, 0, Math.Max(1, spec.MaxInputs));
        Range("parameter_count", spec.ParameterCount, 0, 1_000);
        Range("cpu", spec.Cpu, 0, 1_024);
        Range("memory_mb", spec.MemoryMb, 0, 16 * 1024 * 1024);
        if (spec.MaxContainers > 0 && spec.MinContainers > spec.MaxContainers)
        {
            throw Errors.Invalid($"App '{appName}', function '{name}': min_containers ({spec.MinContainers}) is more than " +
                $"max_containers ({spec.MaxContainers}).");
        }
        if (spec.Retries is { } retries)
        {
            Range("retries.max_retries", retries.MaxRetries, 0, MaxRetriesLimit);
            Range("retries.backoff_coefficient", retries.BackoffCoefficient, 0, 10);
            Range("retries.initial_delay_ms", retries.InitialDelayMs, 0, 3_600_000);
            Range("retries.max_delay_ms", retries.MaxDelayMs, 0, 3_600_000);
        }
        if (spec.Kind == FunctionKind.Batched)
        {
            if (spec.Batch is null)
            {
                throw Errors.Invalid($"App '{appName}', function '{name}' is batched but has no batch options.");
            }
            Range("batch.max_batch_size", spec.Batch.MaxBatchSize, 1, MaxBatchSizeLimit);
            Range("batch.wait_ms", spec.Batch.WaitMs, 0, MaxBatchWaitMs);
        }
        else if (spec.Batch is not null && (spec.Batch.MaxBatchSize != 0 || spec.Batch.WaitMs != 0))
        {
            throw Errors.Invalid($"App '{appName}', function '{name}' has batch options but is not batched (kind {spec.Kind}).");
        }
        WorkerEnvironment.Check(spec.Environment, $"the environment of function '{name}' of app '{appName}'", rpc);
        if (!Enum.IsDefined(spec.Kind))
        {
            throw Errors.Invalid($"App '{appName}', function '{name}': kind {(int)spec.Kind} is unknown.");
        }
    }
}
