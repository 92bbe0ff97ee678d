using System;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Modal.Generator.Model;

namespace Modal.Generator;

/// <summary>
/// Generates the typed handles (<c>Type.Functions.Method</c>) of every <c>[Function]</c> method and the assembly's
/// container entrypoint. See docs/design/generated-code.md for the emitted shape.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class FunctionGenerator : IIncrementalGenerator
{
    internal const string FunctionAttributeName = "Modal.FunctionAttribute";
    internal const string ModalAppAttributeName = "Modal.ModalAppAttribute";
    internal const string ClsAttributeName = "Modal.ClsAttribute";

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var parseResults = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                FunctionAttributeName,
                static (node, _) => node is MethodDeclarationSyntax,
                static (syntaxContext, cancellationToken) => Parser.Parse(syntaxContext, cancellationToken))
            .WithTrackingName(TrackingNames.ParseResults);

        var diagnostics = parseResults
            .Select(static (result, _) => result.Diagnostics)
            .WithTrackingName(TrackingNames.Diagnostics);

        // The model holds no location, so an edit elsewhere in the file leaves it (and the source output) unchanged.
        var functions = parseResults
            .Where(static result => result.Function is not null)
            .Select(static (result, _) => result.Function!)
            .WithTrackingName(TrackingNames.Functions);

        var collected = functions
            .Collect()
            .Select(static (items, _) => Sort(items))
            .WithTrackingName(TrackingNames.CollectedFunctions);

        var appNames = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                ModalAppAttributeName,
                static (node, _) => node is CompilationUnitSyntax,
                static (syntaxContext, _) => AppName(syntaxContext.Attributes))
            .Collect();

        var compilationData = context.CompilationProvider
            .Select(static (compilation, _) => compilation.AssemblyName ?? "app")
            .Combine(appNames)
            .Select(static (pair, _) => new CompilationData(pair.Left, pair.Right.FirstOrDefault(name => name is not null)))
            .WithTrackingName(TrackingNames.CompilationData);

        var clsResults = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                ClsAttributeName,
                static (node, _) => node is ClassDeclarationSyntax,
                static (syntaxContext, cancellationToken) => Parser.ParseCls(syntaxContext, cancellationToken))
            .WithTrackingName(TrackingNames.ClsParseResults);

        var classes = clsResults
            .Where(static result => result.Cls is not null)
            .Select(static (result, _) => result.Cls!)
            .Collect()
            .Select(static (items, _) => items.OrderBy(cls => cls.TypeFullName, StringComparer.Ordinal).ToEquatableArray())
            .WithTrackingName(TrackingNames.CollectedClasses);

        var generationModel = collected
            .Combine(classes)
            .Combine(compilationData)
            .Select(static (pair, _) => new GenerationModel(pair.Left.Left, pair.Right) { Classes = pair.Left.Right })
            .WithTrackingName(TrackingNames.GenerationModel);

        // Checks across functions report at source locations, so they read the parse results, not the model.
        var crossFunctionDiagnostics = parseResults
            .Where(static result => result.Function is not null)
            .Collect()
            .Select(static (items, _) => Clashes.FindCrossFunctionProblems(items))
            .WithTrackingName(TrackingNames.CrossFunctionDiagnostics);

        var clsDiagnostics = clsResults
            .Select(static (result, _) => result.Diagnostics)
            .WithTrackingName(TrackingNames.ClsDiagnostics);

        // A class's name must not be a function's or another class's: both are functions of the app on the control plane.
        var clsNameDiagnostics = parseResults
            .Where(static result => result.Function is not null)
            .Collect()
            .Combine(clsResults.Where(static result => result.Cls is not null).Collect())
            .Select(static (pair, _) => Clashes.FindClassNameProblems(pair.Left, pair.Right))
            .WithTrackingName(TrackingNames.ClsNameDiagnostics);

        context.RegisterSourceOutput(clsDiagnostics, static (productionContext, items) => Report(productionContext, items));
        context.RegisterSourceOutput(clsNameDiagnostics, static (productionContext, items) => Report(productionContext, items));
        foreach (var member in new[] { "Method", "Enter", "Exit", "Parameter" })
        {
            var outside = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    "Modal." + member + "Attribute",
                    static (node, _) => node is MethodDeclarationSyntax or PropertyDeclarationSyntax,
                    (syntaxContext, _) => Parser.CheckClsMember(syntaxContext, member))
                .WithTrackingName(TrackingNames.ClsMemberDiagnostics);
            context.RegisterSourceOutput(outside, static (productionContext, items) => Report(productionContext, items));
        }
        var retriesOutsideCls = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                "Modal.RetriesAttribute",
                static (node, _) => node is ClassDeclarationSyntax,
                static (syntaxContext, _) => Parser.CheckRetriesOnClass(syntaxContext))
            .WithTrackingName(TrackingNames.ClsMemberDiagnostics);
        context.RegisterSourceOutput(retriesOutsideCls, static (productionContext, items) => Report(productionContext, items));
        context.RegisterSourceOutput(diagnostics, static (productionContext, items) => Report(productionContext, items));
        context.RegisterSourceOutput(crossFunctionDiagnostics, static (productionContext, items) => Report(productionContext, items));
        context.RegisterSourceOutput(generationModel, static (productionContext, model) => Emitter.Emit(productionContext, model));

        // [ModalApp(Aot = true)]: formatters for the functions' types, so that a NativeAOT worker makes none at run time.
        var formatters = context.CompilationProvider
            .Select(static (compilation, cancellationToken) => Formatters.Source(compilation, cancellationToken))
            .WithTrackingName(TrackingNames.Formatters);
        context.RegisterSourceOutput(formatters, static (productionContext, source) =>
        {
            if (source is not null)
            {
                productionContext.AddSource(Formatters.HintName, source);
            }
        });
    }

    private static void Report(SourceProductionContext context, EquatableArray<DiagnosticInfo> diagnostics)
    {
        foreach (var diagnostic in diagnostics)
        {
            context.ReportDiagnostic(diagnostic.ToDiagnostic());
        }
    }

    /// <summary>
    /// A location-free order (type, method, overload), so that the output does not change when a method moves and
    /// "the first" of two functions that clash is the same for the emitter and for the diagnostics.
    /// </summary>
    internal static EquatableArray<FunctionModel> Sort(ImmutableArray<FunctionModel> functions)
        => functions
            .OrderBy(function => function, FunctionOrder.Instance)
            .ToEquatableArray();

    private static string? AppName(ImmutableArray<AttributeData> attributes)
        => attributes
            .Select(attribute => attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string : null)
            .FirstOrDefault(name => name is not null);

    /// <summary>Orders functions by containing type, method name, overload and remote name, all ordinal.</summary>
    internal sealed class FunctionOrder : System.Collections.Generic.IComparer<FunctionModel>
    {
        public static readonly FunctionOrder Instance = new();

        public int Compare(FunctionModel? left, FunctionModel? right)
        {
            if (ReferenceEquals(left, right))
            {
                return 0;
            }
            if (left is null || right is null)
            {
                return left is null ? -1 : 1;
            }
            int result = string.CompareOrdinal(left.ContainingTypeFullName, right.ContainingTypeFullName);
            if (result == 0)
            {
                result = string.CompareOrdinal(left.MethodName, right.MethodName);
            }
            if (result == 0)
            {
                result = string.CompareOrdinal(left.ParameterTypes, right.ParameterTypes);
            }
            if (result == 0)
            {
                result = string.CompareOrdinal(left.RemoteName, right.RemoteName);
            }
            return result;
        }
    }
}
