namespace Modal.Generator.Model;

/// <summary>Everything the source output needs: the functions and the [Cls] classes, sorted, and the compilation's facts.</summary>
internal sealed record GenerationModel(EquatableArray<FunctionModel> Functions, CompilationData Compilation)
{
    /// <summary>The <c>[Cls]</c> classes, sorted by type name.</summary>
    public EquatableArray<ClsModel> Classes { get; init; } = EquatableArray<ClsModel>.Empty;
}
