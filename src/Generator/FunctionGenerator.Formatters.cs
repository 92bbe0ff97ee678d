using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Modal.Generator;

public sealed partial class FunctionGenerator
{
    /// <summary>
    /// For an app with <c>[assembly: ModalApp(..., Aot = true)]</c>: MessagePack formatters for the types its functions
    /// take and return (and the types those hold), and a resolver registered with <c>ModalSerializer</c> at module load, so
    /// that a NativeAOT worker never asks MessagePack's dynamic resolvers (which emit code at run time) for a formatter.
    /// Types of this compilation get a generated formatter that writes what MessagePack's own would (an array by [Key]
    /// index, a map by [Key] name, or a map by member name without a contract); collections, nullables and enums get
    /// MessagePack's generic formatters instantiated here; primitives are left to its built-in resolver.
    /// </summary>
    internal static class Formatters
    {
        internal const string HintName = "ModalFormatters.g.cs";
        private const string Formatter = "global::MessagePack.Formatters.IMessagePackFormatter";
        private const string Options = "global::MessagePack.MessagePackSerializerOptions";

        private static readonly SymbolDisplayFormat s_fullName = SymbolDisplayFormat.FullyQualifiedFormat
            .WithMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.UseSpecialTypes | SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers);

        /// <summary>The generic formatters MessagePack ships for well-known generic types, by the type's definition.</summary>
        private static readonly Dictionary<string, string> s_genericFormatters = new(StringComparer.Ordinal)
        {
            ["System.Collections.Generic.List<T>"] = "ListFormatter",
            ["System.Collections.Generic.IList<T>"] = "InterfaceListFormatter2",
            ["System.Collections.Generic.IReadOnlyList<T>"] = "InterfaceReadOnlyListFormatter",
            ["System.Collections.Generic.ICollection<T>"] = "InterfaceCollectionFormatter2",
            ["System.Collections.Generic.IReadOnlyCollection<T>"] = "InterfaceReadOnlyCollectionFormatter",
            ["System.Collections.Generic.IEnumerable<T>"] = "InterfaceEnumerableFormatter",
            ["System.Collections.Generic.HashSet<T>"] = "HashSetFormatter",
            ["System.Collections.Generic.Dictionary<TKey, TValue>"] = "DictionaryFormatter",
            ["System.Collections.Generic.IDictionary<TKey, TValue>"] = "InterfaceDictionaryFormatter",
            ["System.Collections.Generic.IReadOnlyDictionary<TKey, TValue>"] = "InterfaceReadOnlyDictionaryFormatter",
            ["T?"] = "NullableFormatter",
            ["System.Nullable<T>"] = "NullableFormatter",
        };

        /// <summary>Whether the assembly's [ModalApp] says <c>Aot = true</c>.</summary>
        public static bool IsAotApp(Compilation compilation)
            => compilation.Assembly.GetAttributes().Any(attribute =>
                attribute.AttributeClass?.ToDisplayString() == ModalAppAttributeName
                && attribute.NamedArguments.Any(argument => argument.Key == "Aot" && argument.Value.Value is true));

        /// <summary>The source of the formatters and resolver, or null when the app is not an AOT app or has no functions.</summary>
        public static string? Source(Compilation compilation, System.Threading.CancellationToken cancellationToken)
        {
            if (!IsAotApp(compilation))
            {
                return null;
            }
            var roots = new List<ITypeSymbol>();
            foreach (var method in FunctionMethods(compilation.Assembly.GlobalNamespace))
            {
                cancellationToken.ThrowIfCancellationRequested();
                roots.AddRange(method.Parameters.Select(parameter => parameter.Type).Where(type => !TypeAnalysis.IsType(type, "System.Threading.CancellationToken")));
                roots.Add(Unwrap(method.ReturnType));
            }
            var entries = new List<(string Type, string Creation)>();
            var objects = new List<INamedTypeSymbol>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var root in roots)
            {
                Visit(root, seen, entries, objects);
            }
            return Write(entries.OrderBy(entry => entry.Type, StringComparer.Ordinal).ToList(), objects.OrderBy(Name, StringComparer.Ordinal).ToList());
        }

        private static IEnumerable<IMethodSymbol> FunctionMethods(INamespaceOrTypeSymbol container)
        {
            foreach (var member in container.GetMembers())
            {
                if (member is INamespaceOrTypeSymbol nested)
                {
                    foreach (var method in FunctionMethods(nested))
                    {
                        yield return method;
                    }
                }
                else if (member is IMethodSymbol method && method.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == FunctionAttributeName))
                {
                    yield return method;
                }
            }
        }

        /// <summary>The value a function produces: T of Task&lt;T&gt;, ValueTask&lt;T&gt; and IAsyncEnumerable&lt;T&gt;; the type itself otherwise.</summary>
        private static ITypeSymbol Unwrap(ITypeSymbol type)
            => type is INamedTypeSymbol { IsGenericType: true } named && TypeAnalysis.IsTaskOrAsyncStream(named) ? named.TypeArguments[0] : type;

        private static void Visit(ITypeSymbol type, HashSet<string> seen, List<(string Type, string Creation)> entries, List<INamedTypeSymbol> objects)
        {
            string name = Name(type);
            if (!seen.Add(name) || type.SpecialType != SpecialType.None || type.TypeKind == TypeKind.TypeParameter)
            {
                return;
            }
            switch (type)
            {
                case IArrayTypeSymbol { Rank: 1 } array when array.ElementType.SpecialType != SpecialType.System_Byte:
                    entries.Add((name, $"new global::MessagePack.Formatters.ArrayFormatter<{Name(array.ElementType)}>()"));
                    Visit(array.ElementType, seen, entries, objects);
                    return;
                case INamedTypeSymbol { TypeKind: TypeKind.Enum } enumType:
                    entries.Add((name, $"new global::MessagePack.Formatters.GenericEnumFormatter<{Name(enumType)}>()"));
                    return;
                case INamedTypeSymbol { IsGenericType: true } generic when s_genericFormatters.TryGetValue(generic.OriginalDefinition.ToDisplayString(), out var formatter):
                    entries.Add((name, $"new global::MessagePack.Formatters.{formatter}<{string.Join(", ", generic.TypeArguments.Select(Name))}>()"));
                    foreach (var argument in generic.TypeArguments)
                    {
                        Visit(argument, seen, entries, objects);
                    }
                    return;
                case INamedTypeSymbol named when OwnFormatter(named) is { } own:
                    entries.Add((name, $"new {Name(own)}()"));
                    return;
                // A [DataContract] type keeps MessagePack's own rules for it (DataMember names and orders): no formatter here.
                case INamedTypeSymbol { TypeKind: TypeKind.Class or TypeKind.Struct, IsAbstract: false } named
                    when named.Locations.Any(location => location.IsInSource) && !HasAttribute(named, "System.Runtime.Serialization.DataContractAttribute"):
                    entries.Add((name, $"new {FormatterName(named)}()"));
                    objects.Add(named);
                    foreach (var member in Members(named))
                    {
                        Visit(member.Type, seen, entries, objects);
                    }
                    return;
                default:
                    // Built-in types (Guid, DateTime, decimal, byte[], …) are MessagePack's BuiltinResolver's; anything else has no
                    // formatter here, and a NativeAOT worker refuses it at run time with a message that names it.
                    return;
            }
        }

        /// <summary>The formatter a type names with [MessagePackFormatter(typeof(F))], when F has no constructor arguments.</summary>
        private static INamedTypeSymbol? OwnFormatter(INamedTypeSymbol type)
        {
            var attribute = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "MessagePack.MessagePackFormatterAttribute");
            return attribute is { ConstructorArguments.Length: 1 } && attribute.ConstructorArguments[0].Value is INamedTypeSymbol formatter ? formatter : null;
        }

        /// <summary>One member MessagePack writes: its name, type, key (an index, or the name in a map) and whether it can be set.</summary>
        internal sealed record Member(string Name, ITypeSymbol Type, int? Index, string Key, bool Settable);

        /// <summary>
        /// The members MessagePack's own formatter writes (see <see cref="TypeAnalysis"/>): [Key] members of a
        /// [MessagePackObject], else (keyAsPropertyName or no contract) the public fields and readable properties without
        /// [IgnoreMember] or [IgnoreDataMember], by name.
        /// </summary>
        internal static List<Member> Members(INamedTypeSymbol type)
        {
            var contract = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "MessagePack.MessagePackObjectAttribute");
            bool keyed = contract is not null && !(contract.ConstructorArguments.Length > 0 && contract.ConstructorArguments[0].Value is true);
            var members = new List<Member>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var current = type; current is not null && current.Locations.Any(location => location.IsInSource); current = current.BaseType)
            {
                // Properties before fields, as MessagePack's own formatter orders them.
                foreach (var member in current.GetMembers().OrderBy(member => member is IFieldSymbol ? 1 : 0))
                {
                    if (member.IsStatic || member.IsImplicitlyDeclared || !names.Add(member.Name))
                    {
                        continue;
                    }
                    var (memberType, settable) = member switch
                    {
                        IFieldSymbol field => (field.Type, !field.IsReadOnly && !field.IsConst),
                        IPropertySymbol { IsIndexer: false, GetMethod: not null } property => (property.Type, property.SetMethod is { DeclaredAccessibility: Accessibility.Public }),
                        _ => (null, false),
                    };
                    if (memberType is null || HasAttribute(member, "MessagePack.IgnoreMemberAttribute") || HasAttribute(member, "System.Runtime.Serialization.IgnoreDataMemberAttribute"))
                    {
                        continue;
                    }
                    var key = member.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "MessagePack.KeyAttribute");
                    if (keyed)
                    {
                        if (key?.ConstructorArguments.FirstOrDefault().Value is int index)
                        {
                            members.Add(new Member(member.Name, memberType, index, member.Name, settable));
                        }
                        else if (key?.ConstructorArguments.FirstOrDefault().Value is string keyName)
                        {
                            members.Add(new Member(member.Name, memberType, null, keyName, settable));
                        }
                    }
                    else if (member.DeclaredAccessibility == Accessibility.Public
                        && (member is not IPropertySymbol readable || readable.GetMethod!.DeclaredAccessibility == Accessibility.Public))
                    {
                        members.Add(new Member(member.Name, memberType, null, member.Name, settable));
                    }
                }
            }
            return members;
        }

        private static bool HasAttribute(ISymbol symbol, string name)
            => symbol.GetAttributes().Any(attribute => attribute.AttributeClass?.ToDisplayString() == name);

        private static string Name(ITypeSymbol type) => type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(s_fullName);

        /// <summary>The generated formatter's class name: the type's full name made an identifier.</summary>
        private static string FormatterName(INamedTypeSymbol type)
        {
            var name = new System.Text.StringBuilder();
            foreach (char character in Name(type).Replace("global::", ""))
            {
                name.Append(char.IsLetterOrDigit(character) ? character : '_');
            }
            return name.Append("Formatter").ToString();
        }

        private static string Write(List<(string Type, string Creation)> entries, List<INamedTypeSymbol> objects)
        {
            var writer = new IndentedWriter();
            writer.Line("// <auto-generated/>");
            writer.Line("#nullable enable annotations");
            writer.Line("#nullable disable warnings");
            writer.Line("#pragma warning disable CS1591, CS0618");
            writer.Line();
            writer.Open("namespace Modal.Generated");
            writer.Line("/// <summary>The MessagePack formatters of this app's function types, made at compile time for NativeAOT workers.</summary>");
            writer.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"Modal.Generator\", \"1.0\")]");
            writer.Open("internal sealed class ModalFormatterResolver : global::MessagePack.IFormatterResolver");
            writer.Line("public static readonly ModalFormatterResolver Instance = new();");
            writer.Line();
            writer.Line($"public {Formatter}<T>? GetFormatter<T>() => Cache<T>.Formatter;");
            writer.Line();
            writer.Line("/// <summary>Registers this resolver with ModalSerializer, ahead of any other, when the assembly loads.</summary>");
            writer.Line("[global::System.Runtime.CompilerServices.ModuleInitializer]");
            writer.Line("internal static void Register() => global::Modal.ModalSerializer.AddGeneratedResolver(Instance);");
            writer.Line();
            writer.Open("private static class Cache<T>");
            writer.Line($"public static readonly {Formatter}<T>? Formatter = ({Formatter}<T>?)Create(typeof(T));");
            writer.Close();
            writer.Line();
            writer.Open("private static object? Create(global::System.Type type)");
            foreach (var (type, creation) in entries)
            {
                writer.Line($"if (type == typeof({type})) return {creation};");
            }
            writer.Line("return null;");
            writer.Close();
            writer.Close();
            foreach (var type in objects)
            {
                writer.Line();
                WriteObjectFormatter(writer, type);
            }
            writer.Close();
            return writer.ToString();
        }

        private static void WriteObjectFormatter(IndentedWriter writer, INamedTypeSymbol type)
        {
            string name = Name(type);
            var members = Members(type);
            bool byIndex = members.Count > 0 && members.All(member => member.Index is not null);
            bool reference = type.IsReferenceType;
            writer.Line($"/// <summary>Writes <see cref=\"{name.Replace('<', '{').Replace('>', '}')}\"/> as MessagePack's own formatter does ({(byIndex ? "an array by [Key] index" : "a map by member name")}).</summary>");
            writer.Open($"internal sealed class {FormatterName(type)} : {Formatter}<{name}>");
            writer.Open($"public void Serialize(ref global::MessagePack.MessagePackWriter writer, {name} value, {Options} options)");
            if (reference)
            {
                writer.Open("if (value is null)");
                writer.Line("writer.WriteNil();");
                writer.Line("return;");
                writer.Close();
            }
            writer.Line("var resolver = options.Resolver;");
            if (byIndex)
            {
                int length = members.Max(member => member.Index!.Value) + 1;
                writer.Line($"writer.WriteArrayHeader({length});");
                for (int index = 0; index < length; index++)
                {
                    var member = members.FirstOrDefault(m => m.Index == index);
                    writer.Line(member is null ? "writer.WriteNil();" : SerializeMember(member));
                }
            }
            else
            {
                writer.Line($"writer.WriteMapHeader({members.Count});");
                foreach (var member in members)
                {
                    writer.Line($"writer.Write({Literal(member.Key)});");
                    writer.Line(SerializeMember(member));
                }
            }
            writer.Close();
            writer.Line();
            writer.Open($"public {name} Deserialize(ref global::MessagePack.MessagePackReader reader, {Options} options)");
            if (reference)
            {
                writer.Open("if (reader.TryReadNil())");
                writer.Line("return null!;");
                writer.Close();
            }
            writer.Line("options.Security.DepthStep(ref reader);");
            writer.Line("var resolver = options.Resolver;");
            foreach (var member in members)
            {
                writer.Line($"{Name(member.Type)} {Local(member)} = default!;");
            }
            if (byIndex)
            {
                writer.Line("int count = reader.ReadArrayHeader();");
                writer.Open("for (int index = 0; index < count; index++)");
                writer.Open("switch (index)");
                foreach (var member in members)
                {
                    writer.Line($"case {member.Index}: {DeserializeMember(member)} break;");
                }
            }
            else
            {
                writer.Line("int count = reader.ReadMapHeader();");
                writer.Open("for (int index = 0; index < count; index++)");
                writer.Open("switch (reader.ReadString())");
                foreach (var member in members)
                {
                    writer.Line($"case {Literal(member.Key)}: {DeserializeMember(member)} break;");
                }
            }
            writer.Line("default: reader.Skip(); break;");
            writer.Close();
            writer.Close();
            writer.Line("reader.Depth--;");
            writer.Line($"return {Construction(type, members)};");
            writer.Close();
            writer.Close();
        }

        private static string SerializeMember(Member member)
            => $"global::MessagePack.FormatterResolverExtensions.GetFormatterWithVerify<{Name(member.Type)}>(resolver).Serialize(ref writer, value.{Escape(member.Name)}, options);";

        private static string DeserializeMember(Member member)
            => $"{Local(member)} = global::MessagePack.FormatterResolverExtensions.GetFormatterWithVerify<{Name(member.Type)}>(resolver).Deserialize(ref reader, options);";

        private static string Local(Member member) => "__" + member.Name;

        /// <summary>
        /// <c>new T(a, b) { C = c }</c>: the public constructor with the most parameters that all name a member (case
        /// insensitive, as MessagePack matches them), then every other settable member.
        /// </summary>
        private static string Construction(INamedTypeSymbol type, List<Member> members)
        {
            var constructor = type.InstanceConstructors
                .Where(c => c.DeclaredAccessibility == Accessibility.Public
                    && c.Parameters.All(p => members.Any(m => string.Equals(m.Name, p.Name, StringComparison.OrdinalIgnoreCase))))
                .OrderByDescending(c => c.Parameters.Length)
                .FirstOrDefault();
            var parameters = constructor?.Parameters
                .Select(p => members.First(m => string.Equals(m.Name, p.Name, StringComparison.OrdinalIgnoreCase)))
                .ToList() ?? new List<Member>();
            var assigned = members.Where(m => m.Settable && !parameters.Contains(m)).Select(m => $"{Escape(m.Name)} = {Local(m)}").ToList();
            string creation = $"new {Name(type)}({string.Join(", ", parameters.Select(Local))})";
            return assigned.Count == 0 ? creation : $"{creation} {{ {string.Join(", ", assigned)} }}";
        }

        private static string Escape(string name) => Microsoft.CodeAnalysis.CSharp.SyntaxFacts.GetKeywordKind(name) != Microsoft.CodeAnalysis.CSharp.SyntaxKind.None ? "@" + name : name;

        private static string Literal(string text) => Microsoft.CodeAnalysis.CSharp.SymbolDisplay.FormatLiteral(text, quote: true);
    }
}
