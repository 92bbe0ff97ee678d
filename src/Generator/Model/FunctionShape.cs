namespace Modal.Generator.Model;

/// <summary>Mirrors <c>Modal.FunctionKind</c>.</summary>
internal enum FunctionShape
{
    Unary,
    Generator,
    Batched,
}
