using System.Buffers;
using System.ComponentModel;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MessagePack;

namespace Modal;

/// <summary>
/// The wire shapes of a <c>[Cls]</c> class, for generated code: a method's input is the array
/// <c>[methodName, [arguments...]]</c> sent to the class's one remote function, and a parameter set is a MessagePack map
/// from property name to value, sorted by name, carried by the instance's <see cref="FunctionVariant"/> to the containers
/// of its own pool.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ClsCodec
{
    /// <summary>Elements of a method input's outer array: the method name and the argument array.</summary>
    public const int EnvelopeLength = 2;

    /// <summary>Starts a method input: writes the envelope and the method name, then the header of its argument array.</summary>
    public static MessagePackWriter StartMethodArguments(ArrayBufferWriter<byte> buffer, string methodName, int count)
    {
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(EnvelopeLength);
        writer.Write(methodName);
        writer.WriteArrayHeader(count);
        return writer;
    }

    /// <summary>Reads a method input's envelope: the method's name, and its argument array (the rest of the input).</summary>
    /// <exception cref="InvalidInputException">The input is not <c>[methodName, [arguments...]]</c>.</exception>
    public static string ReadMethodName(ReadOnlyMemory<byte> arguments, FunctionDefinition cls, out ReadOnlyMemory<byte> methodArguments)
    {
        var reader = new MessagePackReader(arguments);
        ModalSerializer.ReadArgumentsHeader(ref reader, cls, EnvelopeLength);
        string? name;
        try
        {
            name = reader.ReadString();
        }
        catch (Exception exception) when (exception is MessagePackSerializationException or EndOfStreamException)
        {
            throw ModalSerializer.InvalidArguments(cls, exception);
        }
        if (name is null)
        {
            throw new InvalidInputException($"An input sent to class '{cls.Name}' names no method. Its methods: {cls.Signature}.");
        }
        methodArguments = arguments.Slice((int)reader.Consumed);
        return name;
    }

    /// <summary>The error for a method name that the class does not have.</summary>
    public static InvalidInputException UnknownMethod(FunctionDefinition cls, string methodName)
        => new($"Class '{cls.Name}' has no [Method] named '{methodName}'. Its methods: {cls.Signature}.");

    /// <summary>The error for a generator method called as a unary one, or the other way round.</summary>
    public static InvalidInputException WrongMethodKind(FunctionDefinition cls, string methodName, bool isGenerator)
        => new(isGenerator
            ? $"Method '{methodName}' of class '{cls.Name}' is a generator method; call it with RemoteGen."
            : $"Method '{methodName}' of class '{cls.Name}' is not a generator method; call it with RemoteAsync, SpawnAsync or Map, not RemoteGen.");

    /// <summary>Reads the header of a parameter set and checks that it names every parameter.</summary>
    /// <exception cref="InvalidInputException">The parameters are not a map of that many entries.</exception>
    public static void ReadParametersHeader(ref MessagePackReader reader, FunctionDefinition cls, int expectedCount)
    {
        int count;
        try
        {
            count = reader.ReadMapHeader();
        }
        catch (Exception exception) when (exception is MessagePackSerializationException or EndOfStreamException)
        {
            throw new InvalidInputException($"The parameters sent to class '{cls.Name}' are not a map of parameter names to values: {exception.Message}", exception);
        }
        if (count != expectedCount)
        {
            throw new InvalidInputException(
                $"Class '{cls.Name}' has {expectedCount} [Parameter] properties but was sent {count} parameter value(s); " +
                "the caller's build of the class differs from the deployed one.");
        }
    }

    /// <summary>Reads the name of the next parameter.</summary>
    public static string ReadParameterName(ref MessagePackReader reader, FunctionDefinition cls)
    {
        try
        {
            return reader.ReadString() ?? throw new InvalidInputException($"A parameter sent to class '{cls.Name}' has no name.");
        }
        catch (Exception exception) when (exception is MessagePackSerializationException or EndOfStreamException)
        {
            throw new InvalidInputException($"The parameters sent to class '{cls.Name}' are not a map of parameter names to values: {exception.Message}", exception);
        }
    }

    /// <summary>The error for a parameter name the class does not have, or one sent twice.</summary>
    public static InvalidInputException UnknownParameter(FunctionDefinition cls, string name)
        => new($"Class '{cls.Name}' has no [Parameter] named '{name}' (or it was sent twice); the caller's build of the class differs from the deployed one.");

    /// <summary>Writes a parameter set: call <see cref="ParameterWriter.Add{T}"/> for each parameter in name order.</summary>
    public static ParameterWriter StartParameters(string className, int count) => new(className, count);

    /// <summary>Writes a parameter set and the text that names it (<c>Name="x", Size=3</c>).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public sealed class ParameterWriter
    {
        private readonly ArrayBufferWriter<byte> _buffer = new();
        private readonly StringBuilder _text = new();
        private readonly string _className;
        private readonly int _count;

        internal ParameterWriter(string className, int count)
        {
            _className = className;
            _count = count;
            var writer = new MessagePackWriter(_buffer);
            writer.WriteMapHeader(count);
            writer.Flush();
        }

        /// <summary>Adds one parameter.</summary>
        /// <exception cref="PayloadException">The value cannot be encoded.</exception>
        public ParameterWriter Add<T>(string name, T value)
        {
            var writer = new MessagePackWriter(_buffer);
            writer.Write(name);
            ModalSerializer.SerializeArgument(ref writer, value, _className, name);
            writer.Flush();
            if (_text.Length > 0)
            {
                _text.Append(", ");
            }
            _text.Append(name).Append('=').Append(Display(value));
            return this;
        }

        /// <summary>The parameter set as the variant of the class's function that runs it; none for a class without parameters.</summary>
        public FunctionVariant ToVariant()
            => _count == 0 ? FunctionVariant.None : FunctionVariant.None with { Parameters = Convert.ToBase64String(_buffer.WrittenSpan), ParametersText = _text.ToString() };

        private static string Display<T>(T value) => value switch
        {
            null => "null",
            // Escaped, so that the text of two different sets always differs (it names their pools).
            string text => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
                .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal) + "\"",
            bool flag => flag ? "true" : "false",
            byte[] bytes => bytes.Length <= 16
                ? "0x" + Convert.ToHexString(bytes)
                : $"byte[{bytes.Length.ToString(CultureInfo.InvariantCulture)}]:sha256:{Convert.ToHexString(SHA256.HashData(bytes))[..16]}",
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
    }
}
