using System.ComponentModel;

namespace Modal;

/// <summary>
/// The generated container entrypoint of one assembly: a switch from function name to code that decodes the
/// MessagePack argument array, calls the static method directly and encodes the result. Workers and the
/// in-process mode run functions only through this.
/// </summary>
/// <remarks>
/// User exceptions propagate unchanged; arguments that do not decode throw <see cref="InvalidInputException"/>;
/// unknown names throw <see cref="NotFoundException"/>.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IFunctionEntrypoint
{
    /// <summary>The app name from <c>[assembly: ModalApp]</c>, or the assembly's name.</summary>
    string DefaultAppName { get; }

    /// <summary>Every function of the assembly, sorted by name.</summary>
    IReadOnlyList<FunctionDefinition> Functions { get; }

    /// <summary>Runs a unary function.</summary>
    ValueTask<ReadOnlyMemory<byte>> InvokeAsync(string functionName, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken);

    /// <summary>Runs a generator function, encoding each item.</summary>
    IAsyncEnumerable<ReadOnlyMemory<byte>> InvokeGeneratorAsync(string functionName, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken);

    /// <summary>
    /// Runs a batched function on a batch; each argument array holds one element, and the outputs come back in
    /// the same order. A method that returns a list of another length throws <see cref="InvalidOperationException"/>.
    /// </summary>
    ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> InvokeBatchAsync(string functionName, IReadOnlyList<ReadOnlyMemory<byte>> arguments, CancellationToken cancellationToken);

    /// <summary>
    /// The <c>[Cls]</c> class whose function has this name, or null when the name is a plain function's (or unknown). A
    /// class's inputs run on an instance that <see cref="IClsEntrypoint.CreateInstance"/> makes, not through the
    /// switches above.
    /// </summary>
    IClsEntrypoint? FindCls(string functionName) => null;
}
