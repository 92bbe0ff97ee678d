using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Modal.Generator.Tests;

/// <summary>Runs the generator over source text against the real Modal.Abstractions, MessagePack and framework assemblies.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.Diagnose);

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(path => path.Length > 0)
            .ToList();
        paths.Add(typeof(Modal.Function).Assembly.Location);
        paths.Add(typeof(MessagePack.MessagePackSerializer).Assembly.Location);
        paths.Add(typeof(MessagePack.MessagePackObjectAttribute).Assembly.Location);
        return paths.Distinct(StringComparer.Ordinal)
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToImmutableArray();
    });

    public static ImmutableArray<MetadataReference> References => s_references.Value;

    public static CSharpCompilation CreateCompilation(params string[] sources)
        => CreateNamedCompilation("TestApp", sources);

    public static CSharpCompilation CreateNamedCompilation(string assemblyName, params string[] sources)
        => CSharpCompilation.Create(
            assemblyName,
            sources.Select((source, index) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: $"/src/File{index}.cs")),
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 9999)
                .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
                {
                    // The SDK suppresses these two as well: MessagePack was built against older framework assemblies.
                    ["CS1701"] = ReportDiagnostic.Suppress,
                    ["CS1702"] = ReportDiagnostic.Suppress,
                }));

    public static GeneratorDriver CreateDriver(bool trackSteps = false)
        => CSharpGeneratorDriver.Create(
            new[] { new FunctionGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator; returns the output compilation, its generator diagnostics and the run result.</summary>
    public static (Compilation Output, ImmutableArray<Diagnostic> GeneratorDiagnostics, GeneratorDriverRunResult Result) Run(CSharpCompilation compilation)
    {
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return (output, diagnostics, driver.GetRunResult());
    }

    /// <summary>Runs the generator and returns every diagnostic of the result: the generator's and the compiler's.</summary>
    /// <summary>
    /// Errors anywhere, and warnings in generated files (test inputs are not documented, generated code must be).
    /// </summary>
    public static List<Diagnostic> Problems(Compilation output)
        => output.GetDiagnostics()
            .Where(diagnostic => diagnostic.Severity == DiagnosticSeverity.Error
                || (diagnostic.Severity == DiagnosticSeverity.Warning && diagnostic.Location.SourceTree?.FilePath.StartsWith("/src/", StringComparison.Ordinal) != true))
            .ToList();

    public static ImmutableArray<Diagnostic> Diagnostics(params string[] sources)
    {
        var (output, generatorDiagnostics, _) = Run(CreateCompilation(sources));
        return generatorDiagnostics.AddRange(output.GetDiagnostics()).ToImmutableArray();
    }
}
