using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;

namespace Modal.Generator.Tests;

/// <summary>
/// The same checks through Roslyn's source-generator test harness, which also verifies that every diagnostic is
/// expected (no extra ones) and matches markup locations.
/// </summary>
public sealed class VerifierTests
{
    /// <summary>The .NET 10 reference pack from the local NuGet cache; the stock ReferenceAssemblies.Net.* need the network.</summary>
    private static readonly ReferenceAssemblies s_net10 = new ReferenceAssemblies(
            "net10.0",
            new PackageIdentity("Microsoft.NETCore.App.Ref", "10.0.10"),
            Path.Combine("ref", "net10.0"))
        .AddAssemblies(ImmutableArray<string>.Empty);

    [Fact]
    public async Task Ref_parameter_is_reported_at_the_modifier_and_nothing_is_generated()
    {
        var test = CreateTest("""
            using Modal;

            public static partial class C
            {
                [Function] public static int F({|#0:ref|} int x) => x;
            }
            """);
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ParameterModifier)
            .WithLocation(0)
            .WithArguments("x", "F", "ref"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Gpu_out_of_pattern_is_reported_at_the_argument()
    {
        var test = CreateTest("""
            using Modal;

            public static partial class C
            {
                [Function(Gpu = {|#0:"A100:0"|})] public static int F(int x) => x;
            }
            """);
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.InvalidGpu)
            .WithLocation(0)
            .WithArguments("F", "A100:0"));
        await test.RunAsync();
    }

    [Fact]
    public async Task The_design_doc_input_generates_code_with_no_diagnostic_against_the_reference_pack()
    {
        var test = CreateTest(TestSources.Hello);
        await test.RunAsync();
    }

    [Fact]
    public async Task Object_parameter_is_a_warning_and_the_handle_is_still_generated()
    {
        var test = CreateTest("""
            using Modal;

            public static partial class C
            {
                [Function] public static int F({|#0:object|} value) => 1;
                public static System.Threading.Tasks.Task<int> Use() => Functions.F.RemoteAsync(new object());
            }
            """);
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ParameterMayNotSerialize)
            .WithLocation(0)
            .WithArguments("value", "F", "object", "'object' has no declared shape"));
        await test.RunAsync();
    }

    private static CSharpSourceGeneratorTest<FunctionGenerator, DefaultVerifier> CreateTest(string source)
    {
        var test = new CSharpSourceGeneratorTest<FunctionGenerator, DefaultVerifier>
        {
            ReferenceAssemblies = s_net10,
            TestBehaviors = TestBehaviors.SkipGeneratedSourcesCheck,
        };
        test.TestState.Sources.Add(source);
        test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(Modal.Function).Assembly.Location));
        test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(MessagePack.MessagePackSerializer).Assembly.Location));
        test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(MessagePack.MessagePackObjectAttribute).Assembly.Location));
        return test;
    }
}
