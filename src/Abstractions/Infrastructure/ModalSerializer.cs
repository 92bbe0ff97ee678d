using System.Buffers;
using System.ComponentModel;
using MessagePack;
using MessagePack.Resolvers;

namespace Modal;

/// <summary>
/// The MessagePack options every payload uses, and helpers that generated codecs call.
/// Types with <c>[MessagePackObject]</c> use their contract; other classes and records are written by member name.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ModalSerializer
{
    /// <summary>The options for arguments and results.</summary>
    public static MessagePackSerializerOptions Options { get; } = MessagePackSerializerOptions.Standard
        .WithResolver(ContractlessStandardResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>Encodes one value.</summary>
    public static ReadOnlyMemory<byte> Serialize<T>(T value) => MessagePackSerializer.Serialize(value, Options);

    /// <summary>Decodes one value.</summary>
    public static T Deserialize<T>(ReadOnlyMemory<byte> bytes) => MessagePackSerializer.Deserialize<T>(bytes, Options);

    /// <summary>The encoding of "no result" (MessagePack nil), which functions without a result return.</summary>
    public static ReadOnlyMemory<byte> Nil { get; } = new byte[] { MessagePackCode.Nil };

    /// <summary>Starts writing an argument array of <paramref name="count"/> elements.</summary>
    public static MessagePackWriter StartArguments(ArrayBufferWriter<byte> buffer, int count)
    {
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(count);
        return writer;
    }

    /// <summary>
    /// Reads an argument array's header and checks that it has as many elements as the function has parameters.
    /// </summary>
    /// <exception cref="InvalidInputException">The payload is not an array of that length.</exception>
    public static void ReadArgumentsHeader(ref MessagePackReader reader, FunctionDefinition function, int expectedCount)
    {
        int count;
        try
        {
            count = reader.ReadArrayHeader();
        }
        catch (Exception exception) when (exception is MessagePackSerializationException or EndOfStreamException)
        {
            throw InvalidArguments(function, exception);
        }
        if (count != expectedCount)
        {
            throw new InvalidInputException(
                $"Function '{function.Name}' takes {expectedCount} argument(s) but was sent {count}. Expected signature: {function.Signature}.");
        }
    }

    /// <summary>The error for arguments that did not decode, naming the function and its signature.</summary>
    public static InvalidInputException InvalidArguments(FunctionDefinition function, Exception cause)
        => new($"Arguments sent to function '{function.Name}' do not fit its signature {function.Signature}: {cause.Message}", cause);

    /// <summary>The error for a name that no function of this entrypoint has.</summary>
    public static NotFoundException UnknownFunction(IFunctionEntrypoint entrypoint, string functionName)
        => new($"App '{entrypoint.DefaultAppName}' has no function named '{functionName}'. Its functions: {string.Join(", ", entrypoint.Functions.Select(f => f.Name))}.");

    /// <summary>Encodes untyped arguments as one array, each by its runtime type.</summary>
    public static ReadOnlyMemory<byte> SerializeArguments(object?[] arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(arguments.Length);
        foreach (var argument in arguments)
        {
            if (argument is null)
            {
                writer.WriteNil();
            }
            else
            {
                MessagePackSerializer.Serialize(argument.GetType(), ref writer, argument, Options);
            }
        }
        writer.Flush();
        return buffer.WrittenMemory;
    }
}
