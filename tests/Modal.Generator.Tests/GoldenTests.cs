using Microsoft.CodeAnalysis;

namespace Modal.Generator.Tests;

/// <summary>
/// The generated source, file by file, against Golden/&lt;case&gt;/&lt;hint name&gt;.
/// Set MODAL_REGENERATE_GOLDEN=1 to rewrite the golden files after an intended change.
/// </summary>
public sealed class GoldenTests
{
    public static TheoryData<string> Cases => new() { nameof(TestSources.Hello), nameof(TestSources.Nested), nameof(TestSources.Shapes), nameof(TestSources.Cls), nameof(TestSources.Aot) };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Generated_source_matches_the_golden_files(string caseName)
    {
        var (_, _, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(Source(caseName)));
        var generated = result.Results.Single().GeneratedSources
            .ToDictionary(source => source.HintName, source => source.SourceText.ToString(), StringComparer.Ordinal);
        string directory = Path.Combine(GoldenRoot(), caseName);

        if (Environment.GetEnvironmentVariable("MODAL_REGENERATE_GOLDEN") == "1")
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
            Directory.CreateDirectory(directory);
            foreach (var (hintName, text) in generated)
            {
                File.WriteAllText(Path.Combine(directory, hintName), text);
            }
            return;
        }

        Assert.True(Directory.Exists(directory), $"No golden files in {directory}; run the tests once with MODAL_REGENERATE_GOLDEN=1.");
        var expectedNames = Directory.GetFiles(directory).Select(path => Path.GetFileName(path)!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expectedNames, generated.Keys.Order(StringComparer.Ordinal).ToList());
        foreach (var (hintName, text) in generated)
        {
            string expected = File.ReadAllText(Path.Combine(directory, hintName)).ReplaceLineEndings("\n");
            Assert.Equal(expected, text);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Generated_code_compiles_without_any_warning(string caseName)
    {
        var (output, generatorDiagnostics, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(Source(caseName)));
        Assert.Empty(generatorDiagnostics);
        Assert.NotEmpty(result.GeneratedTrees);
        var problems = GeneratorHarness.Problems(output);
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems.Select(problem => problem.ToString())));
    }

    [Fact]
    public void Output_is_the_same_for_every_run()
    {
        string Generate() => string.Join("\n----\n", GeneratorHarness.Run(GeneratorHarness.CreateCompilation(TestSources.Hello, TestSources.Nested))
            .Result.Results.Single().GeneratedSources.Select(source => source.HintName + "\n" + source.SourceText));
        Assert.Equal(Generate(), Generate());
    }

    [Fact]
    public void App_name_defaults_to_the_assembly_name()
    {
        var (_, _, result) = GeneratorHarness.Run(GeneratorHarness.CreateNamedCompilation("My.Assembly", TestSources.Nested));
        var entrypoint = result.Results.Single().GeneratedSources.Single(source => source.HintName == "Modal.Generated.ModalEntrypoint.g.cs");
        Assert.Contains("public string DefaultAppName => \"My.Assembly\";", entrypoint.SourceText.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Nothing_is_generated_without_functions()
    {
        var (output, diagnostics, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation("public static class Plain { public static int F() => 1; }"));
        Assert.Empty(diagnostics);
        Assert.Empty(result.GeneratedTrees);
        Assert.Empty(GeneratorHarness.Problems(output));
    }

    private static string Source(string caseName) => caseName switch
    {
        nameof(TestSources.Hello) => TestSources.Hello,
        nameof(TestSources.Nested) => TestSources.Nested,
        nameof(TestSources.Shapes) => TestSources.Shapes,
        nameof(TestSources.Cls) => TestSources.Cls,
        nameof(TestSources.Aot) => TestSources.Aot,
        _ => throw new ArgumentOutOfRangeException(nameof(caseName), caseName, null),
    };

    private static string GoldenRoot() => Path.Combine(RepositoryPaths.TestProject, "Golden");
}
