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

    public static readonly DiagnosticDescriptor HandleNameClash = Error(
        "MODAL022", "Function method is named like another function's handle class",
        "Function method '{0}' in '{1}' has the name of the handle class of function '{2}' ('Functions.{3}'), so its handle property would clash with that class; rename one of the methods");

    public static readonly DiagnosticDescriptor ContainingTypeNamedFunctions = Error(
        "MODAL023", "Type containing a function must not be named 'Functions'",
        "Type '{0}' contains the [Function] method '{1}' but is named 'Functions', and the generated nested class 'Functions' cannot have the name of its enclosing type; rename the type or move the method");

    public static readonly DiagnosticDescriptor ContainingTypeFileLocal = Error(
        "MODAL024", "Type containing a function must not be file-local",
        "Type '{0}' contains the [Function] method '{1}' but is file-local; remove the 'file' modifier (the generated handles and container entrypoint live in other files and must call the method)");

    public static readonly DiagnosticDescriptor ExplicitInterfaceImplementation = Error(
        "MODAL025", "Function method must not be an explicit interface implementation",
        "Method '{0}' has [Function] but is an explicit interface implementation, which cannot be called by name; put [Function] on an ordinary static method and call that from the implementation");

    public static readonly DiagnosticDescriptor AsyncVoid = Error(
        "MODAL026", "Function method must not be async void",
        "Function '{0}' is 'async void', so a caller could neither wait for it nor see its exception; return 'Task' instead");

    public static readonly DiagnosticDescriptor NullableCancellationToken = Error(
        "MODAL027", "CancellationToken parameter must not be nullable",
        "Parameter '{0}' of function '{1}' is a 'CancellationToken?', which would be sent over the wire as a value instead of cancelling the call; declare it as a 'CancellationToken' (the last parameter)");

    public static readonly DiagnosticDescriptor ObsoleteAsError = Error(
        "MODAL028", "Function method or its type is obsolete as an error",
        "Function '{0}' cannot be generated because '{1}' is marked [Obsolete] as an error, and the generated handle and container entrypoint must use it; remove [Function] or make the [Obsolete] a warning");

    // Classes with state ([Cls]): MODAL040 and up.

    public static readonly DiagnosticDescriptor ClsNotPartial = Error(
        "MODAL040", "Type declaring or containing a [Cls] class must be partial",
        "Type '{0}' declares or contains the [Cls] class '{1}' but is not partial; add 'partial' to its declaration so the generator can add 'Cls'");

    public static readonly DiagnosticDescriptor ClsNotInstantiable = Error(
        "MODAL041", "[Cls] class must be instantiable",
        "Class '{0}' has [Cls] but is {1}; each container creates an instance of it, so remove '{1}'");

    public static readonly DiagnosticDescriptor ClsGeneric = Error(
        "MODAL042", "[Cls] class must not be generic",
        "Type '{0}' declares or contains the [Cls] class '{1}' but declares type parameters '{2}'; a container needs a concrete class, so remove them");

    public static readonly DiagnosticDescriptor ClsNoParameterlessConstructor = Error(
        "MODAL043", "[Cls] class needs an accessible parameterless constructor",
        "Class '{0}' has [Cls] but no parameterless constructor that the generated code can call; add one (values a container needs come from [Parameter] properties)");

    public static readonly DiagnosticDescriptor ClsParameterNotSettable = Error(
        "MODAL044", "[Parameter] property must be a settable instance property",
        "[Parameter] property '{0}' of class '{1}' {2}; declare it as an instance property with 'init' or 'set', like 'public string Name {{ get; init; }}'");

    public static readonly DiagnosticDescriptor ClsParameterType = Error(
        "MODAL045", "[Parameter] property type is not supported",
        "[Parameter] property '{0}' of class '{1}' has type '{2}'; a parameter is a string, int, long, bool or byte[]");

    public static readonly DiagnosticDescriptor ClsLifecycleSignature = Error(
        "MODAL046", "[Enter] or [Exit] method has the wrong signature",
        "[{0}] method '{1}' of class '{2}' {3}; an [Enter] or [Exit] method is an instance method that takes nothing but an optional CancellationToken and returns void or Task");

    public static readonly DiagnosticDescriptor ClsMethodStatic = Error(
        "MODAL047", "[Method] must not be static",
        "[Method] '{0}' of class '{1}' is static; remove 'static' (a method runs on the container's instance), or make it a [Function] in a static class");

    public static readonly DiagnosticDescriptor ClsMemberOutsideCls = Error(
        "MODAL048", "Member of a class with state is declared outside a [Cls] class",
        "'{0}' has [{1}] but its class '{2}' has no [Cls]; add [Cls] to the class");

    public static readonly DiagnosticDescriptor ClsMethodAttributeNotSupported = Error(
        "MODAL049", "Attribute is not supported on a [Method]",
        "[Method] '{0}' of class '{1}' has [{2}], but {3}");

    public static readonly DiagnosticDescriptor ClsMethodNameNotUsable = Error(
        "MODAL050", "[Method] name cannot be a handle name",
        "[Method] '{0}' of class '{1}' cannot have a handle named '{0}': {2}; rename the method");

    public static readonly DiagnosticDescriptor ClsMemberExists = Error(
        "MODAL051", "Type already declares a member named 'Cls'",
        "Class '{0}' has [Cls] but already declares a member named 'Cls', so the generated 'Cls' cannot be added; rename that member");

    public static readonly DiagnosticDescriptor ClsParameterArgumentClash = Error(
        "MODAL052", "Two [Parameter] properties become the same argument of Create",
        "[Parameter] properties '{0}' and '{1}' of class '{2}' both become the argument '{3}' of Create; rename one of them");

    public static readonly DiagnosticDescriptor RetriesOnClassWithoutCls = Error(
        "MODAL053", "[Retries] on a class without [Cls]",
        "Class '{0}' has [Retries] but no [Cls], so nothing would retry; add [Cls] to the class, or put [Retries] on each [Function] method");

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
