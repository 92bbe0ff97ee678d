using Modal.Api;

namespace Modal.Server.Store;

/// <summary>A spec's effective limits, with the defaults applied (one place, for both stores and the scheduler).</summary>
internal static class FunctionLimits
{
    public static int TimeoutSeconds(FunctionSpec spec) => spec.TimeoutSeconds > 0 ? spec.TimeoutSeconds : 300;

    public static bool IsBatched(FunctionSpec spec) => spec.Kind == FunctionKind.Batched && spec.Batch is { MaxBatchSize: > 0 };

    /// <summary>Inputs in one assignment: the batch size for batched functions, else 1.</summary>
    public static int BatchSize(FunctionSpec spec) => IsBatched(spec) ? spec.Batch.MaxBatchSize : 1;

    public static int BatchWaitMs(FunctionSpec spec) => IsBatched(spec) ? Math.Max(0, spec.Batch.WaitMs) : 0;

    /// <summary>Assignments one container runs at once.</summary>
    public static int MaxInputs(FunctionSpec spec) => Math.Max(1, spec.MaxInputs);

    /// <summary>Inputs one container runs at once (validated at AppCreate to fit an int).</summary>
    public static long InputsPerContainer(FunctionSpec spec) => (long)BatchSize(spec) * MaxInputs(spec);

    /// <summary>
    /// Inputs per container the autoscaler aims for: <c>target_inputs</c> (a variant's <c>WithConcurrency(maxInputs, targetInputs)</c>)
    /// when set, else what a container runs at once.
    /// </summary>
    public static long TargetInputsPerContainer(FunctionSpec spec) =>
        spec.TargetInputs > 0 ? (long)BatchSize(spec) * Math.Min(spec.TargetInputs, MaxInputs(spec)) : InputsPerContainer(spec);

    public static TimeSpan ScaledownWindow(FunctionSpec spec) =>
        TimeSpan.FromSeconds(spec.ScaledownWindowSeconds > 0 ? spec.ScaledownWindowSeconds : 60);
}
