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
    public bool HasResult => ResultType is not null;

    public string HandleClassName => MethodName.TrimStart('@') + "Function";

    public string PropertyName => MethodName;
}
