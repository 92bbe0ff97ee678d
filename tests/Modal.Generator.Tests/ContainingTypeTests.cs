using Microsoft.CodeAnalysis;

namespace Modal.Generator.Tests;

/// <summary>Functions in every kind of container the generator supports, and file names that must stay unique.</summary>
public sealed class ContainingTypeTests
{
    [Theory]
    [InlineData("public partial struct S { [Function] public static int F(int x) => x; }", "S.Functions.F")]
    [InlineData("public partial record R(int Value) { [Function] public static int F(int x) => x; }", "R.Functions.F")]
    [InlineData("public partial record struct P(int Value) { [Function] public static int F(int x) => x; }", "P.Functions.F")]
    [InlineData("public partial class Instance { public int Value; [Function] public static int F(int x) => x; }", "Instance.Functions.F")]
    [InlineData("internal static partial class Hidden { [Function] public static int F(int x) => x; }", "Hidden.Functions.F")]
    [InlineData("public static partial class Keywords { [Function] public static int @checked(int @event) => @event; }", "Keywords.Functions.@checked")]
    [InlineData("namespace A.B { public static partial class C { public static partial class D { [Function] public static int F(int x) => x; } } }", "A.B.C.D.Functions.F")]
    public void Handles_compile_in_every_supported_container(string declaration, string handle)
    {
        string caller = $"public static class Caller {{ public static System.Threading.Tasks.Task<int> Call() => global::{handle}.RemoteAsync(1); }}";
        var (output, diagnostics, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation("using Modal;\n" + declaration, caller));
        Assert.Empty(diagnostics);
        Assert.Equal(2, result.GeneratedTrees.Length);
        var problems = GeneratorHarness.Problems(output);
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Duplicate_names_leave_only_the_first_in_the_entrypoint_so_the_rest_still_compiles()
    {
        var (output, diagnostics, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation("""
            using Modal;
            public static partial class A { [Function] public static int Square(int x) => x * x; }
            public static partial class B { [Function] public static int Square(int x) => x * x; }
            """));
        Assert.Equal("MODAL011", Assert.Single(diagnostics).Id);
        string entrypoint = result.Results.Single().GeneratedSources.Single(source => source.HintName == "Modal.Generated.ModalEntrypoint.g.cs").SourceText.ToString();
        Assert.Contains("global::A.Functions.SquareFunction.InvokeAsync", entrypoint, StringComparison.Ordinal);
        Assert.DoesNotContain("global::B.Functions", entrypoint, StringComparison.Ordinal);
        Assert.DoesNotContain(GeneratorHarness.Problems(output), problem => problem.Severity == DiagnosticSeverity.Error);
    }
}
