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

        var functions = parseResults
            .Where(static result => result.Function is not null)
            .Select(static (result, _) => result.Function!)
            .WithTrackingName(TrackingNames.Functions);

        var collected = functions
            .Collect()
            .Select(static (items, _) => Sort(items))
            .WithTrackingName(TrackingNames.CollectedFunctions);

        var compilationData = context.CompilationProvider
            .Select(static (compilation, _) => GetCompilationData(compilation))
            .WithTrackingName(TrackingNames.CompilationData);

        var generationModel = collected
            .Combine(compilationData)
            .Select(static (pair, _) => new GenerationModel(pair.Left, pair.Right))
            .WithTrackingName(TrackingNames.GenerationModel);

        var crossFunctionDiagnostics = collected
            .Select(static (items, _) => Parser.FindCrossFunctionProblems(items))
            .WithTrackingName(TrackingNames.CrossFunctionDiagnostics);

        context.RegisterSourceOutput(diagnostics, static (productionContext, items) => Report(productionContext, items));
        context.RegisterSourceOutput(crossFunctionDiagnostics, static (productionContext, items) => Report(productionContext, items));
        context.RegisterSourceOutput(generationModel, static (productionContext, model) => Emitter.Emit(productionContext, model));
    }

    private static void Report(SourceProductionContext context, EquatableArray<DiagnosticInfo> diagnostics)
    {
        foreach (var diagnostic in diagnostics)
        {
            context.ReportDiagnostic(diagnostic.ToDiagnostic());
        }
    }

    /// <summary>Source order (file, then position) so that "the second" declaration of a name is well defined.</summary>
    private static EquatableArray<FunctionModel> Sort(ImmutableArray<FunctionModel> functions)
        => functions
            .OrderBy(function => function.MethodLocation?.FilePath ?? "", StringComparer.Ordinal)
            .ThenBy(function => function.MethodLocation?.TextSpan.Start ?? 0)
            .ThenBy(function => function.ContainingTypeFullName, StringComparer.Ordinal)
            .ThenBy(function => function.MethodName, StringComparer.Ordinal)
            .ToEquatableArray();

    private static CompilationData GetCompilationData(Compilation compilation)
    {
        string? appName = null;
        foreach (var attribute in compilation.Assembly.GetAttributes())
        {
            if (attribute.AttributeClass?.ToDisplayString() == ModalAppAttributeName
                && attribute.ConstructorArguments.Length == 1
                && attribute.ConstructorArguments[0].Value is string name)
            {
                appName = name;
            }
        }
        return new CompilationData(compilation.AssemblyName ?? "app", appName);
    }
}
