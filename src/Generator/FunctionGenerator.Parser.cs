using System;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Modal.Generator.Model;

namespace Modal.Generator;

public sealed partial class FunctionGenerator
{
    /// <summary>
    /// Turns a <c>[Function]</c> method into an equatable model and its diagnostics: the entry point and the helpers its
    /// parts share. The method's own rules are in <c>Parser.Method.cs</c>, its option attributes in
    /// <c>Parser.Options.cs</c>; whether a type can cross the wire is <see cref="TypeAnalysis"/>, and the checks across
    /// functions are <see cref="Clashes"/>.
    /// </summary>
    internal static partial class Parser
    {
        private static readonly SymbolDisplayFormat s_fullyQualified = SymbolDisplayFormat.FullyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        private static readonly SymbolDisplayFormat s_crefName = SymbolDisplayFormat.FullyQualifiedFormat
            .WithGenericsOptions(SymbolDisplayGenericsOptions.None)
            .WithMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.UseSpecialTypes | SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers | SymbolDisplayMiscellaneousOptions.ExpandNullable);

        private static readonly SymbolDisplayFormat s_short = SymbolDisplayFormat.MinimallyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        public static FunctionParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
            => Guarded(context, () => new MethodParser(context, cancellationToken).Parse(), failure => new FunctionParseResult(null, failure));

        /// <summary>Runs a parser; an exception (other than a cancellation) becomes MODAL099 at the declaration's name.</summary>
        private static T Guarded<T>(GeneratorAttributeSyntaxContext context, Func<T> parse, Func<EquatableArray<DiagnosticInfo>, T> failed)
        {
            try
            {
                return parse();
            }
            catch (OperationCanceledException)
            {
                throw;
            }
            catch (Exception exception)
            {
                var location = context.TargetNode switch
                {
                    MethodDeclarationSyntax method => LocationInfo.From(method.Identifier),
                    BaseTypeDeclarationSyntax type => LocationInfo.From(type.Identifier),
                    var node => LocationInfo.From(node),
                };
                return failed(new[]
                {
                    DiagnosticInfo.Create(DiagnosticDescriptors.GeneratorFailed, location, $"{exception.GetType().Name}: {exception.Message} (while reading '{context.TargetSymbol.Name}')"),
                }.ToEquatableArray());
            }
        }

        private static string EscapeIdentifier(string name)
            => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

        private static bool IsType(ITypeSymbol type, string metadataName) => TypeAnalysis.IsType(type, metadataName);

        private static bool IsValidName(string name)
            => name.Length > 0 && name.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or '.');

        /// <summary>A batched method's element parameter is named after its list: <c>xs</c> gives <c>x</c>.</summary>
        private static string ElementName(string listName)
        {
            if (listName.Length > 1 && listName.EndsWith("s", StringComparison.Ordinal))
            {
                string singular = listName.Substring(0, listName.Length - 1);
                if (SyntaxFacts.GetKeywordKind(singular) == SyntaxKind.None && singular != "cancellationToken")
                {
                    return singular;
                }
            }
            return "item";
        }

        /// <summary>A type in cref syntax (<c>List{int}</c>), or null where crefs cannot name it.</summary>
        private static string? CrefType(ITypeSymbol type)
        {
            switch (type)
            {
                case IArrayTypeSymbol array:
                    return CrefType(array.ElementType) is { } element ? element + "[" + new string(',', array.Rank - 1) + "]" : null;
                case INamedTypeSymbol named when !named.IsTupleType && named.TypeKind != TypeKind.Error:
                    if (named.ContainingType is { IsGenericType: true })
                    {
                        return null;
                    }
                    if (!named.IsGenericType)
                    {
                        return named.ToDisplayString(s_crefName);
                    }
                    var arguments = named.TypeArguments.Select(CrefType).ToList();
                    if (arguments.Any(argument => argument is null))
                    {
                        return null;
                    }
                    return named.ToDisplayString(s_crefName) + "{" + string.Join(", ", arguments) + "}";
                default:
                    return null;
            }
        }

        private static string Literal(object? value) => value switch
        {
            null => "null",
            string text => SymbolDisplay.FormatLiteral(text, quote: true),
            int number => number.ToString(CultureInfo.InvariantCulture),
            double number => FormatDouble(number),
            bool flag => flag ? "true" : "false",
            _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null",
        };

        private static string FormatDouble(double value)
        {
            string text = value.ToString("R", CultureInfo.InvariantCulture);
            return text.IndexOfAny(new[] { '.', 'E', 'N', 'I' }) >= 0 ? text : text + ".0";
        }
    }
}
