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
    private static readonly object s_gate = new();
    private static IFormatterResolver[] s_generated = [];
    private static volatile MessagePackSerializerOptions s_options = Create(s_generated);

    /// <summary>
    /// The options for arguments and results: the resolvers generated for <c>[ModalApp(Aot = true)]</c> apps first; then,
    /// where code can be generated at run time (the JIT), MessagePack's contractless standard resolver; in a NativeAOT
    /// process only its built-in formatters (primitives, strings, …) and a refusal that names a type nothing resolved.
    /// </summary>
    public static MessagePackSerializerOptions Options => s_options;

    /// <summary>Adds a generated resolver ahead of the others; the generated module initializer of an AOT app calls it.</summary>
    public static void AddGeneratedResolver(IFormatterResolver resolver)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        lock (s_gate)
        {
            if (Array.IndexOf(s_generated, resolver) < 0)
            {
                s_generated = [.. s_generated, resolver];
                s_options = Create(s_generated);
            }
        }
    }

    private static MessagePackSerializerOptions Create(IFormatterResolver[] generated)
    {
        IFormatterResolver[] fallback = System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported
            ? [ContractlessStandardResolver.Instance]
            : [BuiltinResolver.Instance, NoDynamicFormatters.Instance];
        IFormatterResolver resolver = generated.Length == 0 && fallback.Length == 1 ? fallback[0] : CompositeResolver.Create([.. generated, .. fallback]);
        return MessagePackSerializerOptions.Standard.WithResolver(resolver).WithSecurity(MessagePackSecurity.UntrustedData);
    }

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

    /// <summary>Decodes one argument where the function runs.</summary>
    /// <exception cref="InvalidInputException">
    /// The argument does not decode as the parameter's type; names the function, the parameter, its type, what was sent
    /// instead, and the function's signature.
    /// </exception>
    public static T DeserializeArgument<T>(ref MessagePackReader reader, FunctionDefinition function, string parameterName)
    {
        var sent = reader; // a copy, to say what was sent if it does not decode
        try
        {
            return MessagePackSerializer.Deserialize<T>(ref reader, Options);
        }
        catch (Exception exception) when (IsSerializerFailure(exception))
        {
            throw new InvalidInputException(
                $"Argument '{parameterName}' sent to function '{function.Name}' does not decode as '{TypeName(typeof(T))}': it is {Describe(ref sent)}. " +
                $"Expected signature: {function.Signature}. {Cause(exception)}",
                exception);
        }
    }

    /// <summary>The error for arguments that did not decode, naming the function and its signature.</summary>
    public static InvalidInputException InvalidArguments(FunctionDefinition function, Exception cause)
        => new($"Arguments sent to function '{function.Name}' do not fit its signature {function.Signature}: {cause.Message}", cause);

    /// <summary>The error for a name that no function of this entrypoint has.</summary>
    public static NotFoundException UnknownFunction(IFunctionEntrypoint entrypoint, string functionName)
        => new($"App '{entrypoint.DefaultAppName}' has no function named '{functionName}'. Its functions: {string.Join(", ", entrypoint.Functions.Select(f => f.Name))}.");

    /// <summary>Encodes untyped arguments as one array, each by its run-time type.</summary>
    /// <exception cref="PayloadException">An argument cannot be encoded.</exception>
    public static ReadOnlyMemory<byte> SerializeArguments(object?[] arguments) => SerializeArguments(arguments, functionName: null);

    /// <summary>Encodes untyped arguments as one array, each by its run-time type.</summary>
    /// <param name="arguments">The arguments.</param>
    /// <param name="functionName">The function they are for, named in an error.</param>
    /// <exception cref="PayloadException">An argument cannot be encoded.</exception>
    public static ReadOnlyMemory<byte> SerializeArguments(object?[] arguments, string? functionName)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(arguments.Length);
        for (var i = 0; i < arguments.Length; i++)
        {
            var argument = arguments[i];
            if (argument is null)
            {
                writer.WriteNil();
                continue;
            }
            try
            {
                MessagePackSerializer.Serialize(argument.GetType(), ref writer, argument, Options);
            }
            catch (Exception exception) when (IsSerializerFailure(exception))
            {
                throw new PayloadException(
                    $"Argument {i} of {Quote(functionName)} has type '{TypeName(argument.GetType())}', which MessagePack cannot encode: {Cause(exception)}",
                    exception);
            }
        }
        writer.Flush();
        return buffer.WrittenMemory;
    }

    /// <summary>Encodes one argument of a typed handle into the argument array.</summary>
    /// <exception cref="PayloadException">The argument cannot be encoded; names the function, the parameter and its type.</exception>
    public static void SerializeArgument<T>(ref MessagePackWriter writer, T value, string functionName, string parameterName)
    {
        try
        {
            MessagePackSerializer.Serialize(ref writer, value, Options);
        }
        catch (Exception exception) when (IsSerializerFailure(exception))
        {
            throw new PayloadException(
                $"Argument '{parameterName}' of {Quote(functionName)} has type '{TypeName(value?.GetType() ?? typeof(T))}', which MessagePack cannot encode: {Cause(exception)}",
                exception);
        }
    }

    /// <summary>Encodes a function's result (or one item of a generator function) where the function runs.</summary>
    /// <exception cref="PayloadException">The result cannot be encoded; names the function and the result's type.</exception>
    public static ReadOnlyMemory<byte> SerializeResult<T>(T value, string functionName)
    {
        try
        {
            return Serialize(value);
        }
        catch (Exception exception) when (IsSerializerFailure(exception))
        {
            throw new PayloadException(
                $"The result of {Quote(functionName)} has type '{TypeName(value?.GetType() ?? typeof(T))}', which MessagePack cannot encode: {Cause(exception)}",
                exception);
        }
    }

    /// <summary>Decodes a function's result (or one item of a generator function) where the caller waits for it.</summary>
    /// <param name="bytes">The encoded result.</param>
    /// <param name="functionName">The function, named in an error.</param>
    /// <exception cref="PayloadException">The result does not decode as <typeparamref name="T"/>; names the function, the type and what came back.</exception>
    public static T DeserializeResult<T>(ReadOnlyMemory<byte> bytes, string? functionName)
        => DeserializeResultOf<T>(bytes, Quote(functionName));

    /// <summary>Decodes the result of a call known by id, naming its function when known.</summary>
    internal static T DeserializeCallResult<T>(ReadOnlyMemory<byte> bytes, string callId, string? functionName)
        => DeserializeResultOf<T>(bytes, functionName is null ? $"call '{callId}'" : $"{Quote(functionName)} (call '{callId}')");

    private static T DeserializeResultOf<T>(ReadOnlyMemory<byte> bytes, string subject)
    {
        try
        {
            return Deserialize<T>(bytes);
        }
        catch (Exception exception) when (IsSerializerFailure(exception))
        {
            throw new PayloadException(
                $"The result of {subject} does not decode as '{TypeName(typeof(T))}': it is {Describe(bytes)}. {Cause(exception)}",
                exception);
        }
    }

    /// <summary>What an encoded value is, in words (<c>a string "hi"</c>, <c>an array of 3 elements</c>), for error messages.</summary>
    public static string Describe(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return "empty";
        }
        var reader = new MessagePackReader(bytes);
        return Describe(ref reader);
    }

    private static string Describe(ref MessagePackReader reader)
    {
        if (reader.End)
        {
            return "missing";
        }
        try
        {
            switch (reader.NextMessagePackType)
            {
                case MessagePackType.Nil:
                    return "nil (no value)";
                case MessagePackType.Boolean:
                    return reader.ReadBoolean() ? "the boolean true" : "the boolean false";
                case MessagePackType.Integer:
                    return reader.NextCode == MessagePackCode.UInt64
                        ? $"the integer {reader.ReadUInt64().ToString(System.Globalization.CultureInfo.InvariantCulture)}"
                        : $"the integer {reader.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture)}";
                case MessagePackType.Float:
                    return $"the number {reader.ReadDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";
                case MessagePackType.String:
                    var text = reader.ReadString() ?? "";
                    return text.Length <= 40 ? $"the string \"{text}\"" : $"a string of {text.Length} characters starting \"{text[..40]}\"";
                case MessagePackType.Binary:
                    return $"binary data of {reader.ReadBytes()?.Length ?? 0} bytes";
                case MessagePackType.Array:
                    return $"an array of {reader.ReadArrayHeader()} element(s)";
                case MessagePackType.Map:
                    return $"a map of {reader.ReadMapHeader()} entry(ies)";
                case MessagePackType.Extension:
                    return $"a MessagePack extension of type {reader.ReadExtensionFormatHeader().TypeCode}";
                default:
                    return "not MessagePack";
            }
        }
        catch (Exception exception) when (IsSerializerFailure(exception))
        {
            return "not valid MessagePack";
        }
    }

    private static bool IsSerializerFailure(Exception exception)
        => exception is MessagePackSerializationException or EndOfStreamException or FormatException or InvalidOperationException or NotSupportedException or OverflowException;

    /// <summary>The innermost message, where the serializer says what went wrong (its outer message only names the type).</summary>
    private static string Cause(Exception exception)
    {
        var innermost = exception;
        while (innermost.InnerException is { } inner)
        {
            innermost = inner;
        }
        return ReferenceEquals(innermost, exception) || innermost.Message == exception.Message
            ? exception.Message
            : $"{exception.Message} ({innermost.Message})";
    }

    private static string Quote(string? functionName) => functionName is null ? "the function" : $"function '{functionName}'";

    /// <summary>A type as C# writes it, without namespaces: <c>List&lt;int&gt;</c>, <c>string[]</c>.</summary>
    private static string TypeName(Type type)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return TypeName(underlying) + "?";
        }
        if (type.IsArray)
        {
            return TypeName(type.GetElementType()!) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        }
        var name = Type.GetTypeCode(type) switch
        {
            TypeCode.Boolean => "bool",
            TypeCode.Byte => "byte",
            TypeCode.Char => "char",
            TypeCode.Decimal => "decimal",
            TypeCode.Double => "double",
            TypeCode.Int16 => "short",
            TypeCode.Int32 => "int",
            TypeCode.Int64 => "long",
            TypeCode.SByte => "sbyte",
            TypeCode.Single => "float",
            TypeCode.String => "string",
            TypeCode.UInt16 => "ushort",
            TypeCode.UInt32 => "uint",
            TypeCode.UInt64 => "ulong",
            _ => type == typeof(object) ? "object" : null,
        };
        if (name is not null)
        {
            return name;
        }
        if (!type.IsGenericType)
        {
            return type.Name;
        }
        var plain = type.Name;
        var tick = plain.IndexOf('`', StringComparison.Ordinal);
        return (tick < 0 ? plain : plain[..tick]) + "<" + string.Join(", ", type.GetGenericArguments().Select(TypeName)) + ">";
    }
}
