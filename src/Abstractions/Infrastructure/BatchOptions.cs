namespace Modal;

/// <summary>How a <c>[Batched]</c> function's inputs are grouped.</summary>
/// <param name="MaxBatchSize">The most inputs in one batch.</param>
/// <param name="WaitMs">How long a batch waits to fill after its first input.</param>
public sealed record BatchOptions(int MaxBatchSize, int WaitMs);
