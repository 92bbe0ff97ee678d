namespace Modal.Generator.Model;

/// <summary>
/// What the generator emits for one <c>[Cls]</c> class: its remote function (one per class), its parameters, its
/// lifecycle methods and a <see cref="FunctionModel"/> per <c>[Method]</c>. Like <see cref="FunctionModel"/>, it holds no
/// source location.
/// </summary>
internal sealed record ClsModel(
    string Namespace,
    EquatableArray<ContainingTypeModel> ContainingTypes,
    string TypeFullName,
    string TypeCref,
    string RemoteName,
    EquatableArray<string> OptionInitializers,
    EquatableArray<ClsParameterModel> Parameters,
    EquatableArray<ClsLifecycleMethod> EnterMethods,
    EquatableArray<ClsLifecycleMethod> ExitMethods,
    EquatableArray<FunctionModel> Methods,
    bool IsPublic,
    EquatableArray<string> ExperimentalDiagnosticIds)
{
    /// <summary>The methods' signatures, for messages: <c>Embed(string text) -&gt; float[]; Count() -&gt; int</c>.</summary>
    public string Signature => string.Join("; ", System.Linq.Enumerable.Select(Methods, method => method.Signature));
}

/// <summary>
/// A <c>[Parameter]</c> property: its name, the name of its <c>Create</c> argument, its fully qualified type and, when its
/// initializer is a constant, that constant as C# (which makes the argument optional).
/// </summary>
internal sealed record ClsParameterModel(string PropertyName, string ArgumentName, string Type, string? DefaultValue);

/// <summary>An <c>[Enter]</c> or <c>[Exit]</c> method: its escaped name, whether it returns a task, whether it takes a token.</summary>
internal sealed record ClsLifecycleMethod(string Name, bool IsAsync, bool TakesToken);
