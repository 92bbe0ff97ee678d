using System.ComponentModel;

namespace Modal;

/// <summary>
/// What the generator knows of a <c>[Function]</c>: its name, shape, options and signature.
/// Generated code creates one per function; the runtime registers them with the control plane.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed record FunctionDefinition
{
    /// <summary>Creates a definition.</summary>
    public FunctionDefinition(string defaultAppName, string name, FunctionKind kind, FunctionOptions options, string signature, bool hasResult, int parameterCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(parameterCount);
        ParameterCount = parameterCount;
        DefaultAppName = defaultAppName;
        Name = name;
        Kind = kind;
        Options = options;
        Signature = signature;
        HasResult = hasResult;
    }

    /// <summary>The app name from <c>[assembly: ModalApp]</c>, or the assembly's name.</summary>
    public string DefaultAppName { get; }
    /// <summary>The remote name.</summary>
    public string Name { get; }
    /// <summary>Unary, generator or batched.</summary>
    public FunctionKind Kind { get; }
    /// <summary>Execution options.</summary>
    public FunctionOptions Options { get; }
    /// <summary>The signature as the user wrote it, for error messages, e.g. <c>Square(int x) -&gt; int</c>.</summary>
    public string Signature { get; }
    /// <summary>
    /// Elements of the argument array on the wire: the method's parameters without a trailing
    /// <c>CancellationToken</c>; 1 for a batched function (one element per input).
    /// </summary>
    public int ParameterCount { get; }
    /// <summary>False for functions that return nothing.</summary>
    public bool HasResult { get; }
}
