using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Modal.Generator;

public sealed partial class FunctionGenerator
{
    /// <summary>
    /// Whether a type can cross the wire: never (an error at the parameter or return type), perhaps (a warning where only
    /// the run-time type decides), or yes. It follows array elements, type arguments and, for types declared in this
    /// compilation, the members MessagePack would write; types from other assemblies are judged by their own type only.
    /// </summary>
    internal static class TypeAnalysis
    {
        private static readonly SymbolDisplayFormat s_short = SymbolDisplayFormat.MinimallyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        private static readonly HashSet<string> s_wellKnownCollectionInterfaces = new(StringComparer.Ordinal)
        {
            "System.Collections.Generic.IEnumerable<T>",
            "System.Collections.Generic.IReadOnlyList<T>",
            "System.Collections.Generic.IList<T>",
            "System.Collections.Generic.ICollection<T>",
            "System.Collections.Generic.IReadOnlyCollection<T>",
            "System.Collections.Generic.IDictionary<TKey, TValue>",
            "System.Collections.Generic.IReadOnlyDictionary<TKey, TValue>",
        };

        private static readonly string[] s_tasks =
        {
            "System.Threading.Tasks.Task", "System.Threading.Tasks.Task<TResult>",
            "System.Threading.Tasks.ValueTask", "System.Threading.Tasks.ValueTask<TResult>",
        };

        private static readonly string[] s_asyncStreams =
        {
            "System.Collections.Generic.IAsyncEnumerable<T>", "System.Collections.Generic.IAsyncEnumerator<T>",
        };

        /// <summary>Base types whose instances belong to this process: a thread, an OS handle, a synchronization object.</summary>
        private static readonly string[] s_processResources =
        {
            "System.Threading.Thread", "System.Threading.WaitHandle", "System.Runtime.InteropServices.SafeHandle",
            "System.Threading.CancellationToken", "System.Threading.CancellationTokenSource", "System.Net.Sockets.Socket",
        };

        public static string Display(ITypeSymbol type) => type.ToDisplayString(s_short);

        public static bool IsType(ITypeSymbol type, string metadataName)
            => type.OriginalDefinition.ToDisplayString() == metadataName;

        /// <summary>True for a task or an asynchronous stream, which a function may return but not nest in its result.</summary>
        public static bool IsTaskOrAsyncStream(ITypeSymbol type)
            => s_tasks.Concat(s_asyncStreams).Any(name => IsType(type, name));

        /// <summary>
        /// Why a type can never cross the wire, as a clause that follows "which" (<c>is a stream, …</c>), or null. It
        /// names the path to the offending type: an element, a type argument, a property or field.
        /// </summary>
        public static string? NeverSerializes(ITypeSymbol type)
        {
            if (!IsAccessibleToAssembly(type))
            {
                return "is not accessible outside its containing type, so the generated handle cannot use it";
            }
            return Never(type, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default));
        }

        /// <summary>Why MessagePack may fail on a type, or null when it is known to work (or known not to: see <see cref="NeverSerializes"/>).</summary>
        public static string? SerializationDoubt(ITypeSymbol type) => Doubt(type, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default));

        private static string? Never(ITypeSymbol type, HashSet<ITypeSymbol> seen)
        {
            if (OwnReason(type) is { } reason)
            {
                return reason;
            }
            if (!seen.Add(type))
            {
                return null;
            }
            switch (type)
            {
                case IArrayTypeSymbol array:
                    return Never(array.ElementType, seen) is { } element ? $"has elements of type '{Display(array.ElementType)}', which {element}" : null;
                case INamedTypeSymbol named:
                    foreach (var argument in named.TypeArguments)
                    {
                        if (Never(argument, seen) is { } inner)
                        {
                            return $"has the type argument '{Display(argument)}', which {inner}";
                        }
                    }
                    foreach (var (member, memberType) in WrittenMembers(named))
                    {
                        if (Never(memberType, seen) is { } inner)
                        {
                            return $"has the {Kind(member)} '{member.ContainingType.Name}.{member.Name}' of type '{Display(memberType)}', which {inner}";
                        }
                    }
                    return null;
                default:
                    return null;
            }
        }

        /// <summary>Why the type itself (not its parts) can never cross the wire.</summary>
        private static string? OwnReason(ITypeSymbol type)
        {
            switch (type)
            {
                case IPointerTypeSymbol:
                case IFunctionPointerTypeSymbol:
                    return "is a pointer";
                case ITypeParameterSymbol:
                    return "is a type parameter";
            }
            if (type.IsRefLikeType)
            {
                return "is a ref struct and cannot be stored or copied to another process";
            }
            if (type.TypeKind == TypeKind.Delegate || DerivesFrom(type, "System.Delegate"))
            {
                return "is a delegate, and code cannot be sent to another process";
            }
            if (type.SpecialType is SpecialType.System_IntPtr or SpecialType.System_UIntPtr)
            {
                return "is a native-sized handle or address, which means nothing in another process (send a number of a fixed size, such as long, instead)";
            }
            if (DerivesFrom(type, "System.IO.Stream"))
            {
                return "is a stream, which is read from a source of this process rather than held as a value (send its bytes as a byte[] instead)";
            }
            if (s_tasks.Any(name => IsType(type, name) || DerivesFrom(type, name)))
            {
                return "is a task, a computation running in this process (await it and send its result instead)";
            }
            if (s_asyncStreams.Any(name => IsType(type, name)))
            {
                return "is an asynchronous stream, produced in this process (send its items as an array instead, or stream them from a generator function)";
            }
            if (IsType(type, "System.Type") || DerivesFrom(type, "System.Reflection.MemberInfo"))
            {
                return "is reflection metadata, which MessagePack does not encode (send the type's or member's name as a string instead)";
            }
            if (s_processResources.Any(name => DerivesFrom(type, name)))
            {
                return "is a thread, handle or synchronization object of this process, which cannot be copied to another process";
            }
            return null;
        }

        private static string? Doubt(ITypeSymbol type, HashSet<ITypeSymbol> seen)
        {
            if (!seen.Add(type))
            {
                return null;
            }
            switch (type)
            {
                case IDynamicTypeSymbol:
                    return "'dynamic' has no declared shape";
                case IArrayTypeSymbol array:
                    return Doubt(array.ElementType, seen);
                case IErrorTypeSymbol:
                    return null;
            }
            if (type.SpecialType == SpecialType.System_Object)
            {
                return "'object' has no declared shape";
            }
            if (type is not INamedTypeSymbol named)
            {
                return null;
            }
            if (named.TypeKind == TypeKind.Interface)
            {
                if (!s_wellKnownCollectionInterfaces.Contains(named.OriginalDefinition.ToDisplayString()))
                {
                    return $"the interface '{Display(named)}' has no concrete type to create on the other side";
                }
            }
            else if (named.IsAbstract && named.TypeKind == TypeKind.Class && !HasAttribute(named, "MessagePack.UnionAttribute"))
            {
                return $"the abstract class '{Display(named)}' has no [MessagePack.Union] to choose a concrete type";
            }
            foreach (var argument in named.TypeArguments)
            {
                if (Doubt(argument, seen) is { } doubt)
                {
                    return doubt;
                }
            }
            foreach (var (member, memberType) in WrittenMembers(named))
            {
                if (Doubt(memberType, seen) is { } doubt)
                {
                    return $"{doubt} (the type of the {Kind(member)} '{member.ContainingType.Name}.{member.Name}')";
                }
            }
            return null;
        }

        /// <summary>
        /// The members MessagePack writes for a class or struct declared in this compilation (and its bases declared here):
        /// the [Key] members of a [MessagePackObject] without keyAsPropertyName, the [DataMember]s of a [DataContract], else
        /// the public instance fields and readable properties without [IgnoreMember] or [IgnoreDataMember]. None for a type
        /// with its own [MessagePackFormatter], an enum, or a type from another assembly (where they cannot be seen).
        /// </summary>
        private static IEnumerable<(ISymbol Member, ITypeSymbol Type)> WrittenMembers(INamedTypeSymbol type)
        {
            if (type.TypeKind is not (TypeKind.Class or TypeKind.Struct) || !IsInSource(type)
                || HasAttribute(type, "MessagePack.MessagePackFormatterAttribute"))
            {
                yield break;
            }
            var contract = type.GetAttributes().FirstOrDefault(attribute => attribute.AttributeClass?.ToDisplayString() == "MessagePack.MessagePackObjectAttribute");
            bool keyed = contract is not null && !(contract.ConstructorArguments.Length > 0 && contract.ConstructorArguments[0].Value is true);
            bool dataContract = contract is null && HasAttribute(type, "System.Runtime.Serialization.DataContractAttribute");
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var current = type; current is not null && IsInSource(current); current = current.BaseType)
            {
                foreach (var member in current.GetMembers())
                {
                    if (member.IsStatic || member.IsImplicitlyDeclared || !names.Add(member.Name))
                    {
                        continue;
                    }
                    ITypeSymbol? memberType = member switch
                    {
                        IFieldSymbol field => field.Type,
                        IPropertySymbol { IsIndexer: false, GetMethod: not null } property => property.Type,
                        _ => null,
                    };
                    if (memberType is null)
                    {
                        continue;
                    }
                    bool written = keyed ? HasAttribute(member, "MessagePack.KeyAttribute")
                        : dataContract ? HasAttribute(member, "System.Runtime.Serialization.DataMemberAttribute")
                        : member.DeclaredAccessibility == Accessibility.Public
                            && (member is not IPropertySymbol readable || readable.GetMethod!.DeclaredAccessibility == Accessibility.Public)
                            && !HasAttribute(member, "MessagePack.IgnoreMemberAttribute")
                            && !HasAttribute(member, "System.Runtime.Serialization.IgnoreDataMemberAttribute");
                    if (written)
                    {
                        yield return (member, memberType);
                    }
                }
            }
        }

        private static string Kind(ISymbol member) => member is IFieldSymbol ? "field" : "property";

        private static bool IsInSource(ITypeSymbol type) => type.Locations.Any(location => location.IsInSource);

        private static bool HasAttribute(ISymbol symbol, string name)
            => symbol.GetAttributes().Any(attribute => attribute.AttributeClass?.ToDisplayString() == name);

        private static bool DerivesFrom(ITypeSymbol type, string metadataName)
        {
            for (var current = type; current is not null; current = current.BaseType)
            {
                if (IsType(current, metadataName))
                {
                    return true;
                }
            }
            return false;
        }

        /// <summary>True when the generated code, elsewhere in the assembly, can name the type.</summary>
        public static bool IsAccessibleToAssembly(ITypeSymbol type)
            => EveryDeclarationIs(type, accessibility => accessibility is not (Accessibility.Private or Accessibility.Protected or Accessibility.ProtectedAndInternal));

        /// <summary>True when the type is visible outside the assembly, so a handle that uses it can be public.</summary>
        public static bool IsEffectivelyPublic(ITypeSymbol type)
            => EveryDeclarationIs(type, accessibility => accessibility is Accessibility.Public or Accessibility.NotApplicable);

        /// <summary>Whether the type, its containing types, its element type and its type arguments all have an accessibility that fits.</summary>
        private static bool EveryDeclarationIs(ITypeSymbol type, Func<Accessibility, bool> fits)
        {
            switch (type)
            {
                case IArrayTypeSymbol array:
                    return EveryDeclarationIs(array.ElementType, fits);
                case INamedTypeSymbol named:
                    for (var current = named; current is not null; current = current.ContainingType)
                    {
                        if (!fits(current.DeclaredAccessibility))
                        {
                            return false;
                        }
                    }
                    return named.TypeArguments.All(argument => EveryDeclarationIs(argument, fits));
                default:
                    return true;
            }
        }
    }
}
