using MessagePack;
using MessagePack.Formatters;

namespace Modal;

/// <summary>
/// The last resolver of a NativeAOT process: MessagePack's dynamic resolvers would emit code at run time, which NativeAOT
/// cannot, so a type that neither a generated resolver nor the built-in one knows is refused here, by name, with the fix.
/// </summary>
internal sealed class NoDynamicFormatters : IFormatterResolver
{
    public static readonly NoDynamicFormatters Instance = new();

    public IMessagePackFormatter<T>? GetFormatter<T>()
        => throw new NotSupportedException(
            $"No MessagePack formatter for '{typeof(T)}' was generated for this NativeAOT process, and none can be made at run time. " +
            "Put [assembly: ModalApp(\"name\", Aot = true)] in the assembly whose [Function] signatures use the type, so that the generator emits one.");
}
