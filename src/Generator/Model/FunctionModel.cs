namespace Modal.Generator.Model;

/// <summary>What the generator emits for one <c>[Function]</c> method. Only strings, numbers and equatable arrays.</summary>
internal sealed record FunctionModel(
    string Namespace,
    EquatableArray<ContainingTypeModel> ContainingTypes,
    string ContainingTypeFullName,
    string ContainingTypeCref,
    string MethodName,
    string? MethodCref,
    string RemoteName,
    FunctionShape Kind,
    ReturnShape ReturnShape,
    string MethodReturnType,
    string? ResultType,
    EquatableArray<ParameterModel> Parameters,
    string? BatchListType,
    string? BatchParameterName,
    string? CancellationTokenName,
    string Signature,
    EquatableArray<string> OptionInitializers,
    bool IsPublic,
    LocationInfo? MethodLocation,
    LocationInfo? NameLocation)
{
    /// <summary>The file-unique key of the containing type (namespace and type names).</summary>
    public string ContainingTypeKey => ContainingTypeFullName;

    public bool HasResult => ResultType is not null;

    public string HandleClassName => MethodName.TrimStart('@') + "Function";

    public string PropertyName => MethodName;
}

/// <summary>One containing type, outermost first: its declaration keyword and name.</summary>
internal sealed record ContainingTypeModel(string Keyword, string Name);

/// <summary>A parameter that is sent over the wire: its escaped name and fully qualified type.</summary>
internal sealed record ParameterModel(string Name, string Type);

/// <summary>Mirrors <c>Modal.FunctionKind</c>.</summary>
internal enum FunctionShape
{
    Unary,
    Generator,
    Batched,
}

/// <summary>The method's return type, as far as calling and awaiting it goes.</summary>
internal enum ReturnShape
{
    Void,
    Task,
    ValueTask,
    Value,
    TaskOfResult,
    ValueTaskOfResult,
    AsyncEnumerable,
}

/// <summary>The result of parsing one method: its model when it has no errors, and its diagnostics.</summary>
internal sealed record FunctionParseResult(FunctionModel? Function, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>The few facts of the compilation that the output needs.</summary>
internal sealed record CompilationData(string AssemblyName, string? AppName)
{
    public string DefaultAppName => string.IsNullOrEmpty(AppName) ? AssemblyName : AppName!;
}

/// <summary>Everything the source output needs: the functions, sorted, and the compilation's facts.</summary>
internal sealed record GenerationModel(EquatableArray<FunctionModel> Functions, CompilationData Compilation);
