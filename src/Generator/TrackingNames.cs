namespace Modal.Generator;

/// <summary>Names of the pipeline steps, for incremental-caching tests.</summary>
public static class TrackingNames
{
    /// <summary>Each [Function] method parsed into a model and its diagnostics.</summary>
    public const string ParseResults = "Modal.ParseResults";
    /// <summary>The models of methods without errors.</summary>
    public const string Functions = "Modal.Functions";
    /// <summary>The models collected into one array.</summary>
    public const string CollectedFunctions = "Modal.CollectedFunctions";
    /// <summary>The assembly name and [assembly: ModalApp] name.</summary>
    public const string CompilationData = "Modal.CompilationData";
    /// <summary>Functions and compilation data, sorted: the input of the source output.</summary>
    public const string GenerationModel = "Modal.GenerationModel";
    /// <summary>Diagnostics of each method.</summary>
    public const string Diagnostics = "Modal.Diagnostics";
    /// <summary>Diagnostics that need every function at once (duplicate names).</summary>
    public const string CrossFunctionDiagnostics = "Modal.CrossFunctionDiagnostics";
    /// <summary>Each [Cls] class parsed into a model and its diagnostics.</summary>
    public const string ClsParseResults = "Modal.ClsParseResults";
    /// <summary>The [Cls] models collected into one sorted array.</summary>
    public const string CollectedClasses = "Modal.CollectedClasses";
    /// <summary>Diagnostics of each [Cls] class.</summary>
    public const string ClsDiagnostics = "Modal.ClsDiagnostics";
    /// <summary>Diagnostics of [Cls] names that a function or another class already uses.</summary>
    public const string ClsNameDiagnostics = "Modal.ClsNameDiagnostics";
    /// <summary>[Method], [Enter], [Exit] and [Parameter] members outside a [Cls] class.</summary>
    public const string ClsMemberDiagnostics = "Modal.ClsMemberDiagnostics";
    /// <summary>The source of an AOT app's MessagePack formatters (null for other apps).</summary>
    public const string Formatters = "Modal.Formatters";
}
