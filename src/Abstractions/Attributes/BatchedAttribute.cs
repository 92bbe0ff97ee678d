namespace Modal;

/// <summary>
/// Runs the function on batches of inputs: the method takes one <c>IReadOnlyList&lt;T&gt;</c> and returns an
/// <c>IReadOnlyList&lt;R&gt;</c> of the same length, while its handle takes and returns single elements.
/// A batch closes when it holds <see cref="MaxBatchSize"/> inputs or <see cref="WaitMs"/> has passed since its first.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class BatchedAttribute : Attribute
{
    /// <summary>The most inputs in one batch (1..1000).</summary>
    public int MaxBatchSize { get; set; } = 1;

    /// <summary>Milliseconds to wait for a batch to fill (0..600000).</summary>
    public int WaitMs { get; set; }
}
