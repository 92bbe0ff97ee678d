using System.Linq;

namespace Modal.Generator.Model;

/// <summary>
/// What the generator emits for one <c>[Function]</c> method. Only strings, numbers and equatable arrays, and no source
/// location: an edit that moves the method without changing it leaves the model equal, so nothing is regenerated.
/// </summary>
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
    bool CallResultMayBeNull,
    bool BatchResultsMayBeNull,
    bool HidesInheritedFunctions,
    EquatableArray<string> ExperimentalDiagnosticIds)
{
    public bool HasResult => ResultType is not null;

    /// <summary>For a <c>[Method]</c> of a <c>[Cls]</c> class, the class's remote name; null for a <c>[Function]</c>.</summary>
    public string? ClsName { get; init; }

    public string HandleClassName => MethodName.TrimStart('@') + (ClsName is null ? "Function" : "Method");

    public string PropertyName => MethodName;

    /// <summary>The method's own parameter types, for ordering overloads without a source location.</summary>
    public string ParameterTypes
        => string.Join(",", Parameters.Select(parameter => parameter.Type)) + "|" + BatchListType + "|" + (CancellationTokenName is null ? "" : "token");
}
