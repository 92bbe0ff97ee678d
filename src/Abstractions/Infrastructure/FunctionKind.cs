namespace Modal;

/// <summary>The shape of a function, which decides how it is called and served.</summary>
public enum FunctionKind
{
    /// <summary>One input, one output.</summary>
    Unary,
    /// <summary>One input, a stream of outputs (<c>IAsyncEnumerable&lt;T&gt;</c>).</summary>
    Generator,
    /// <summary>Inputs are grouped into batches for the method; each input still gets one output.</summary>
    Batched,
}
