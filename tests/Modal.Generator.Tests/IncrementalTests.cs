using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Modal.Generator.Tests;

/// <summary>The pipeline caches its model: unrelated edits regenerate nothing, relevant edits do.</summary>
public sealed partial class IncrementalTests
{
    private static readonly string[] s_modelSteps =
    {
        TrackingNames.ParseResults,
        TrackingNames.Diagnostics,
        TrackingNames.Functions,
        TrackingNames.CollectedFunctions,
        TrackingNames.CompilationData,
        TrackingNames.GenerationModel,
        TrackingNames.CrossFunctionDiagnostics,
    };

    private const string Other = """
        public static class Calculator
        {
            public static int Add(int a, int b) => a + b;
        }
        """;

    [Fact]
    public void Adding_an_unrelated_file_leaves_every_step_cached()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestSources.Hello, Other);
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("public static class Unrelated { }", GeneratorHarness.ParseOptions, path: "/src/Unrelated.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        AssertAllCachedOrUnchanged(result);
    }

    [Fact]
    public void Editing_a_method_body_in_another_file_leaves_every_step_cached()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestSources.Hello, Other);
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var oldTree = compilation.SyntaxTrees.Single(tree => tree.FilePath == "/src/File1.cs");
        var newTree = CSharpSyntaxTree.ParseText(Other.Replace("a + b", "b + a + 0", StringComparison.Ordinal), GeneratorHarness.ParseOptions, path: oldTree.FilePath);
        var result = driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, newTree)).GetRunResult().Results.Single();

        AssertAllCachedOrUnchanged(result);
    }

    [Fact]
    public void Editing_a_method_body_above_the_functions_in_the_same_file_regenerates_nothing()
    {
        const string source = """
            using Modal;

            public static partial class P
            {
                static int Helper() => 1;

                [Function] public static int F(int x) => x + Helper();

                [Function(Name = "g")] public static int G(int x) => x;
            }
            """;
        var compilation = GeneratorHarness.CreateCompilation(source);
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var oldTree = compilation.SyntaxTrees.Single();
        var newTree = CSharpSyntaxTree.ParseText(source.Replace("=> 1;", "=> 1 + 1;", StringComparison.Ordinal), GeneratorHarness.ParseOptions, path: oldTree.FilePath);
        var result = driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, newTree)).GetRunResult().Results.Single();

        // The parse results hold the (moved) locations, so they change; the location-free model below them does not.
        Assert.Contains(result.TrackedSteps[TrackingNames.ParseResults].SelectMany(step => step.Outputs), output => output.Reason == IncrementalStepRunReason.Modified);
        foreach (var name in new[] { TrackingNames.Functions, TrackingNames.CollectedFunctions, TrackingNames.CompilationData, TrackingNames.GenerationModel })
        {
            foreach (var (_, reason) in result.TrackedSteps[name].SelectMany(step => step.Outputs))
            {
                Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step {name} output was {reason}");
            }
        }
        var sourceOutputs = result.TrackedOutputSteps.SelectMany(pair => pair.Value)
            .Where(step => step.Inputs.Any(input => input.Source.Name == TrackingNames.GenerationModel))
            .ToList();
        Assert.Single(sourceOutputs);
        foreach (var (_, reason) in sourceOutputs.SelectMany(step => step.Outputs))
        {
            Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"the source output was {reason}");
        }
    }

    [Fact]
    public void Changing_a_function_option_modifies_the_model_and_the_output()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestSources.Hello, Other);
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var oldTree = compilation.SyntaxTrees.Single(tree => tree.FilePath == "/src/File0.cs");
        var newTree = CSharpSyntaxTree.ParseText(
            TestSources.Hello.Replace("TimeoutSeconds = 60", "TimeoutSeconds = 120", StringComparison.Ordinal), GeneratorHarness.ParseOptions, path: oldTree.FilePath);
        var result = driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, newTree)).GetRunResult().Results.Single();

        Assert.Contains(result.TrackedSteps[TrackingNames.ParseResults].SelectMany(step => step.Outputs), output => output.Reason == IncrementalStepRunReason.Modified);
        Assert.All(result.TrackedSteps[TrackingNames.GenerationModel].SelectMany(step => step.Outputs), output => Assert.Equal(IncrementalStepRunReason.Modified, output.Reason));
        var hello = result.GeneratedSources.Single(source => source.HintName == "Demo.Hello.Functions.g.cs");
        Assert.Contains("TimeoutSeconds = 120,", hello.SourceText.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void No_symbol_syntax_node_semantic_model_or_compilation_is_reachable_from_the_model()
    {
        var compilation = GeneratorHarness.CreateCompilation(TestSources.Hello, TestSources.Nested, TestSources.Shapes,
            "using Modal; public static partial class Broken { [Function] public static void F(ref int x) { } }");
        var result = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation).GetRunResult().Results.Single();

        int visited = CountObjectsHoldingNoCompilerObjects(result, s_modelSteps);
        Assert.True(visited > 100, $"only {visited} objects visited");
    }

    /// <summary>Walks the outputs of every step in <paramref name="steps"/>, asserting that none holds a compiler object; returns how many objects it saw.</summary>
    private static int CountObjectsHoldingNoCompilerObjects(GeneratorRunResult result, string[] steps)
    {
        int visited = 0;
        foreach (var name in steps)
        {
            Assert.True(result.TrackedSteps.ContainsKey(name), $"step {name} was not tracked");
            foreach (var step in result.TrackedSteps[name])
            {
                foreach (var (value, _) in step.Outputs)
                {
                    visited += AssertHoldsNoCompilerObjects(value, name);
                }
            }
        }
        return visited;
    }

    private static void AssertAllCachedOrUnchanged(GeneratorRunResult result) => AssertAllCachedOrUnchanged(result, s_modelSteps);

    private static void AssertAllCachedOrUnchanged(GeneratorRunResult result, string[] steps)
    {
        foreach (var name in steps)
        {
            Assert.True(result.TrackedSteps.ContainsKey(name), $"step {name} was not tracked");
            foreach (var step in result.TrackedSteps[name])
            {
                foreach (var (_, reason) in step.Outputs)
                {
                    Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step {name} output was {reason}");
                }
            }
        }
        foreach (var step in result.TrackedOutputSteps.SelectMany(pair => pair.Value))
        {
            foreach (var (_, reason) in step.Outputs)
            {
                Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output step was {reason}");
            }
        }
    }

    /// <summary>Walks every field of every object reachable from <paramref name="root"/>; returns how many it saw.</summary>
    private static int AssertHoldsNoCompilerObjects(object? root, string step)
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<(object Value, string Path)>();
        if (root is not null)
        {
            pending.Push((root, step));
        }
        while (pending.Count > 0)
        {
            var (value, path) = pending.Pop();
            var type = value.GetType();
            if (type.IsPrimitive || type.IsEnum || value is string || !seen.Add(value))
            {
                continue;
            }
            Assert.False(
                value is ISymbol or SyntaxNode or SemanticModel or Compilation or SyntaxTree or Location,
                $"{path} holds a {type.FullName}");
            if (value is IEnumerable items and not string)
            {
                int index = 0;
                foreach (var item in items)
                {
                    if (item is not null)
                    {
                        pending.Push((item, $"{path}[{index}]"));
                    }
                    index++;
                }
            }
            for (var current = type; current is not null; current = current.BaseType)
            {
                foreach (var field in current.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (field.GetValue(value) is { } fieldValue)
                    {
                        pending.Push((fieldValue, $"{path}.{field.Name}"));
                    }
                }
            }
        }
        return seen.Count;
    }
}
