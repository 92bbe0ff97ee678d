using System.ComponentModel;

namespace Modal;

/// <summary>
/// The generated container side of one <c>[Cls]</c> class: creates the instance a container serves, from the encoded
/// values of its <c>[Parameter]</c> properties. Workers and the in-process mode reach it through
/// <see cref="IFunctionEntrypoint.FindCls"/>.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IClsEntrypoint
{
    /// <summary>The class's definition: its remote name, options and the signatures of its methods.</summary>
    FunctionDefinition Definition { get; }

    /// <summary>Creates an instance with these parameter values (a MessagePack map by property name, see <see cref="ClsCodec"/>).</summary>
    /// <exception cref="InvalidInputException">The values do not decode as the class's parameters.</exception>
    IClsInstance CreateInstance(ReadOnlyMemory<byte> parameters);
}

/// <summary>
/// One instance of a <c>[Cls]</c> class, as one container holds it: its <c>[Enter]</c> and <c>[Exit]</c> methods and a
/// switch from method name to the <c>[Method]</c> that runs on it.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IClsInstance
{
    /// <summary>Runs the <c>[Enter]</c> methods in declaration order; the caller runs this once, before the first input.</summary>
    Task EnterAsync(CancellationToken cancellationToken);

    /// <summary>Runs the <c>[Exit]</c> methods in declaration order, when the container stops gracefully.</summary>
    Task ExitAsync(CancellationToken cancellationToken);

    /// <summary>Runs a method that is not a generator; the arguments are <c>[methodName, [arguments...]]</c>.</summary>
    ValueTask<ReadOnlyMemory<byte>> InvokeAsync(ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken);

    /// <summary>Runs a generator method, encoding each item; the arguments are <c>[methodName, [arguments...]]</c>.</summary>
    IAsyncEnumerable<ReadOnlyMemory<byte>> InvokeGeneratorAsync(ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken);
}
