using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Modal.Generator;

/// <summary>Every diagnostic the generator reports. docs/diagnostics.md explains each, with an example and the fix.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "Modal";
    private const string HelpBase = "https://github.com/modal-dotnet/modal-dotnet/blob/main/docs/diagnostics.md#";

    public static readonly DiagnosticDescriptor MethodNotStatic = Error(
        "MODAL001", "Function method must be static",
        "Method '{0}' has [Function] but is not static; make it 'static' (Modal calls it without an instance)");

    public static readonly DiagnosticDescriptor MethodGeneric = Error(
        "MODAL002", "Function method must not be generic",
        "Method '{0}' has [Function] but declares type parameters '{1}'; remove them (a remote call needs concrete types)");

    public static readonly DiagnosticDescriptor ContainingTypeNotPartial = Error(
        "MODAL003", "Type containing a function must be partial",
        "Type '{0}' contains the [Function] method '{1}' but is not partial; add 'partial' to its declaration so the generator can add 'Functions'");

    public static readonly DiagnosticDescriptor ContainingTypeGeneric = Error(
        "MODAL004", "Type containing a function must not be generic",
        "Type '{0}' contains the [Function] method '{1}' but declares type parameters '{2}'; move the method to a non-generic type");

    public static readonly DiagnosticDescriptor ParameterModifier = Error(
        "MODAL005", "Function parameter has a modifier that cannot cross the wire",
        "Parameter '{0}' of function '{1}' is declared '{2}'; remove the '{2}' modifier (arguments are copied to another process, and nothing flows back)");

    public static readonly DiagnosticDescriptor UnsupportedParameterType = Error(
        "MODAL006", "Function parameter type is not supported",
        "Parameter '{0}' of function '{1}' has type '{2}', which {3}; use a serializable type such as a record, an array or a primitive");

    public static readonly DiagnosticDescriptor ParameterMayNotSerialize = Warning(
        "MODAL007", "Function parameter type may not be serializable",
        "Parameter '{0}' of function '{1}' has type '{2}', which MessagePack may not serialize: {3}; use a concrete type (a record, a class with public properties, an array or a primitive)");

    public static readonly DiagnosticDescriptor CancellationTokenNotLast = Error(
        "MODAL008", "CancellationToken must be the last parameter",
        "Parameter '{0}' of function '{1}' is a CancellationToken but is not the last parameter; move it to the end (it is not sent over the wire)");

    public static readonly DiagnosticDescriptor UnsupportedReturnType = Error(
        "MODAL009", "Function return type is not supported",
        "Function '{0}' returns '{1}', which {2}; return void, T, Task, Task<T>, ValueTask, ValueTask<T> or IAsyncEnumerable<T> with a serializable T");

    public static readonly DiagnosticDescriptor ReturnMayNotSerialize = Warning(
        "MODAL010", "Function result type may not be serializable",
        "Function '{0}' returns '{1}', which MessagePack may not serialize: {2}; return a concrete type (a record, a class with public properties, an array or a primitive)");

    public static readonly DiagnosticDescriptor DuplicateName = Error(
        "MODAL011", "Function name is not unique",
        "Function name '{0}' of '{1}' is already used by '{2}'; names must be unique within an app, so set a different [Function(Name = ...)]");

    public static readonly DiagnosticDescriptor OptionOutOfRange = Error(
        "MODAL012", "Function option is out of range",
        "{0} of function '{1}' is {2}; it must be {3}");

    public static readonly DiagnosticDescriptor InvalidGpu = Error(
        "MODAL013", "GPU request is not valid",
        "Gpu of function '{0}' is \"{1}\"; it must be a GPU type, optionally with a count, like \"T4\", \"A100\" or \"H100:8\"");

    public static readonly DiagnosticDescriptor InvalidName = Error(
        "MODAL014", "Function name is not valid",
        "Function name '{0}' of method '{1}' is not valid; a name is non-empty and has only letters, digits, '-', '_' and '.'");

    public static readonly DiagnosticDescriptor MinContainersAboveMax = Error(
        "MODAL015", "MinContainers is greater than MaxContainers",
        "Function '{0}' sets MinContainers = {1} greater than MaxContainers = {2}; lower MinContainers or raise MaxContainers");

    public static readonly DiagnosticDescriptor InvalidBatchedSignature = Error(
        "MODAL016", "Batched function has the wrong signature",
        "[Batched] function '{0}' {1}; a batched function takes one IReadOnlyList<T> (and optionally a trailing CancellationToken) and returns IReadOnlyList<R> or a Task/ValueTask of it");

    public static readonly DiagnosticDescriptor BatchedGenerator = Error(
        "MODAL017", "A generator function cannot be batched",
        "Function '{0}' returns IAsyncEnumerable<T> and has [Batched]; remove [Batched] or return IReadOnlyList<R>");

    public static readonly DiagnosticDescriptor FunctionsMemberExists = Error(
        "MODAL018", "Type already declares a member named 'Functions'",
        "Type '{0}' already declares a member named 'Functions', so the handles of function '{1}' cannot be added; rename that member");

    public static readonly DiagnosticDescriptor UnsupportedContainingType = Error(
        "MODAL019", "Type kind cannot contain functions",
        "Function '{0}' is declared in the {1} '{2}'; declare it in a partial class, struct or record");

    public static readonly DiagnosticDescriptor ContainingTypeInaccessible = Error(
        "MODAL020", "Type containing a function is not accessible to the assembly",
        "Type '{0}' contains the [Function] method '{1}' but is {2}; make it internal or public so the container entrypoint can call the method");

    public static readonly DiagnosticDescriptor DuplicateMethodName = Error(
        "MODAL021", "Two functions in one type share a method name",
        "Function method '{0}' is overloaded in '{1}'; each [Function] method needs its own name, because its handle is 'Functions.{0}'");

    public static readonly DiagnosticDescriptor GeneratorFailed = Error(
        "MODAL099", "The Modal generator failed",
        "Modal generator failed: {0}; please report this with the declaration that triggers it");

    private static readonly Dictionary<string, DiagnosticDescriptor> s_byId = typeof(DiagnosticDescriptors)
        .GetFields()
        .Where(field => field.FieldType == typeof(DiagnosticDescriptor))
        .Select(field => (DiagnosticDescriptor)field.GetValue(null))
        .ToDictionary(descriptor => descriptor.Id);

    /// <summary>Every descriptor, by id.</summary>
    public static IReadOnlyDictionary<string, DiagnosticDescriptor> All => s_byId;

    public static DiagnosticDescriptor ById(string id) => s_byId[id];

    private static DiagnosticDescriptor Error(string id, string title, string message)
        => Create(id, title, message, DiagnosticSeverity.Error);

    private static DiagnosticDescriptor Warning(string id, string title, string message)
        => Create(id, title, message, DiagnosticSeverity.Warning);

    private static DiagnosticDescriptor Create(string id, string title, string message, DiagnosticSeverity severity)
        => new(id, title, message, Category, severity, isEnabledByDefault: true, helpLinkUri: HelpBase + id.ToLowerInvariant());
}
