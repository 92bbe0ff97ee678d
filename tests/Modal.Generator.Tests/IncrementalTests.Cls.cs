using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Modal.Generator.Tests;

/// <summary>The [Cls] steps cache like the function steps.</summary>
public sealed partial class IncrementalTests
{
    private static readonly string[] s_clsSteps =
    {
        TrackingNames.ClsParseResults,
        TrackingNames.ClsDiagnostics,
        TrackingNames.CollectedClasses,
        TrackingNames.ClsNameDiagnostics,
        TrackingNames.ClsMemberDiagnostics,
        TrackingNames.GenerationModel,
    };

    [Fact]
    public void Adding_an_unrelated_file_leaves_every_cls_step_cached()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestSources.Cls, Other);
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("public static class Unrelated { }", GeneratorHarness.ParseOptions, path: "/src/Unrelated.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        AssertAllCachedOrUnchanged(result, s_clsSteps);
        AssertAllCachedOrUnchanged(result, s_modelSteps);
    }

    [Fact]
    public void Editing_a_method_body_of_a_cls_regenerates_nothing()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestSources.Cls, Other);
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var oldTree = compilation.SyntaxTrees.Single(tree => tree.FilePath == "/src/File0.cs");
        var newTree = CSharpSyntaxTree.ParseText(
            TestSources.Cls.Replace("_weights = null;", "_weights = string.Empty;", StringComparison.Ordinal), GeneratorHarness.ParseOptions, path: oldTree.FilePath);
        var result = driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, newTree)).GetRunResult().Results.Single();

        Assert.All(result.TrackedSteps[TrackingNames.CollectedClasses].SelectMany(step => step.Outputs),
            output => Assert.True(output.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"CollectedClasses was {output.Reason}"));
        Assert.All(result.TrackedOutputSteps.SelectMany(pair => pair.Value).SelectMany(step => step.Outputs),
            output => Assert.True(output.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output step was {output.Reason}"));
    }

    [Fact]
    public void Changing_a_cls_option_modifies_the_model_and_the_output()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestSources.Cls, Other);
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var oldTree = compilation.SyntaxTrees.Single(tree => tree.FilePath == "/src/File0.cs");
        var newTree = CSharpSyntaxTree.ParseText(
            TestSources.Cls.Replace("TimeoutSeconds = 600", "TimeoutSeconds = 700", StringComparison.Ordinal), GeneratorHarness.ParseOptions, path: oldTree.FilePath);
        var result = driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, newTree)).GetRunResult().Results.Single();

        Assert.Contains(result.TrackedSteps[TrackingNames.ClsParseResults].SelectMany(step => step.Outputs), output => output.Reason == IncrementalStepRunReason.Modified);
        var model = result.GeneratedSources.Single(source => source.HintName == "Demo.Model.Cls.g.cs");
        Assert.Contains("TimeoutSeconds = 700,", model.SourceText.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void No_compiler_object_is_reachable_from_the_cls_model()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestSources.Cls,
            "using Modal; [Cls] public partial class Broken { [Method] public void F(ref int x) { } }");
        var result = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation).GetRunResult().Results.Single();

        int visited = CountObjectsHoldingNoCompilerObjects(result, s_clsSteps);
        Assert.True(visited > 100, $"only {visited} objects visited");
    }
}
