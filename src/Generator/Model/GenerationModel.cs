namespace Modal.Generator.Model;

/// <summary>Everything the source output needs: the functions, sorted, and the compilation's facts.</summary>
internal sealed record GenerationModel(EquatableArray<FunctionModel> Functions, CompilationData Compilation);
