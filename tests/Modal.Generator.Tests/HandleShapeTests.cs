using Microsoft.CodeAnalysis;

namespace Modal.Generator.Tests;

/// <summary>
/// The generated handle has exactly the members that fit each function's shape: using one that fits compiles, using one
/// that does not is a compile error. (Calling them against a backend is the runtime's tests' job.)
/// </summary>
public sealed class HandleShapeTests
{
    [Theory]
    [InlineData("int r = await Hello.Functions.Square.RemoteAsync(7);")]
    [InlineData("int r = await Hello.Functions.Square.RemoteAsync(7, CancellationToken.None);")]
    [InlineData("int r = Hello.Functions.Square.Remote(7);")]
    [InlineData("FunctionCall<int> call = await Hello.Functions.Square.SpawnAsync(7);")]
    [InlineData("FunctionCall<int> call = Hello.Functions.Square.Spawn(7);")]
    [InlineData("await foreach (int r in Hello.Functions.Square.Map(new[] { 1, 2 })) { }")]
    [InlineData("await foreach (int r in Hello.Functions.Square.Map([1, 2], orderOutputs: false)) { }")]
    [InlineData("await foreach (int r in Hello.Functions.Square.Map(Numbers())) { }")]
    [InlineData("await foreach (FunctionResult<int> r in Hello.Functions.Square.MapResults(new[] { 1, 2 })) { }")]
    [InlineData("await Hello.Functions.Square.ForEachAsync(new[] { 1, 2 }, ignoreExceptions: true);")]
    [InlineData("MapCall<int> call = await Hello.Functions.Square.SpawnMapAsync(new[] { 1, 2 }); await foreach (FunctionResult<int> r in call.IterateAsync(0, 2)) { }")]
    [InlineData("MapCall<int> call = await Hello.Functions.Add.SpawnMapAsync(new[] { 1 }, new[] { 2 }, CancellationToken.None); int r = await call.GetAsync(0);")]
    [InlineData("MapCall<int> call = await Function.FromName(\"a\", \"b\").SpawnMapAsync<int>(new[] { new object?[] { 1 } }); int n = await call.NumInputsAsync();")]
    [InlineData("MapCall<int> call = MapCall.FromId<int>(\"fc-1\"); await call.CancelAsync(terminateContainers: true);")]
    [InlineData("Hello.Functions.SquareFunction v = Hello.Functions.Square.WithOptions(timeoutSeconds: 10, retries: RetryPolicy.None, maxContainers: 2, gpu: \"T4\", environment: new Dictionary<string, string> { [\"A\"] = \"b\" }); int r = await v.RemoteAsync(3);")]
    [InlineData("Hello.Functions.SquareFunction v = Hello.Functions.Square.WithConcurrency(4, targetInputs: 2).WithApp(\"other\");")]
    [InlineData("int r = await Hello.Functions.Double.WithBatching(maxBatchSize: 8, waitMs: 5).RemoteAsync(21);")]
    [InlineData("await foreach (string s in Hello.Functions.Tokens.WithOptions(cpu: 2.0).RemoteGen(\"a b\")) { }")]
    [InlineData("int r = Hello.Functions.Square.Local(3);")]
    [InlineData("Func<int, int> f = Hello.Functions.Square.GetRawF();")]
    [InlineData("Hello.Functions.SquareFunction other = Hello.Functions.Square.WithApp(\"other\");")]
    [InlineData("Function untyped = Hello.Functions.Square; string name = untyped.Name;")]
    [InlineData("int r = await Hello.Functions.Add.RemoteAsync(1, 2);")]
    [InlineData("await foreach (int r in Hello.Functions.Add.Map(new[] { 1 }, new[] { 2 })) { }")]
    [InlineData("await foreach (FunctionResult<int> r in Hello.Functions.Add.MapResults(new[] { 1 }, new[] { 2 })) { }")]
    [InlineData("await foreach (int r in Hello.Functions.Add.StarMap(new[] { (1, 2) })) { }")]
    [InlineData("await Hello.Functions.Add.ForEachAsync(new[] { 1 }, new[] { 2 });")]
    [InlineData("Task<int> t = Hello.Functions.Add.Local(1, 2);")]
    [InlineData("Func<int, int, CancellationToken, Task<int>> f = Hello.Functions.Add.GetRawF();")]
    [InlineData("await Hello.Functions.Log.RemoteAsync(\"x\");")]
    [InlineData("Hello.Functions.Log.Remote(\"x\");")]
    [InlineData("FunctionCall call = await Hello.Functions.Log.SpawnAsync(\"x\");")]
    [InlineData("await Hello.Functions.Log.ForEachAsync(new[] { \"x\" });")]
    [InlineData("Action<string> f = Hello.Functions.Log.GetRawF();")]
    [InlineData("await foreach (string s in Hello.Functions.Tokens.RemoteGen(\"a b\")) { }")]
    [InlineData("await foreach (string s in Hello.Functions.Tokens.Local(\"a b\")) { }")]
    [InlineData("int r = await Hello.Functions.Double.RemoteAsync(21);")]
    [InlineData("await foreach (int r in Hello.Functions.Double.Map(new[] { 1, 2 })) { }")]
    [InlineData("IReadOnlyList<int> r = Hello.Functions.Double.Local(new[] { 1 });")]
    [InlineData("FunctionDefinition d = Hello.Functions.Double.Reference.Definition!;")]
    public void A_member_that_fits_the_function_compiles(string statement)
    {
        var errors = Compile(statement);
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors));
    }

    [Theory]
    [InlineData("await Hello.Functions.Tokens.RemoteAsync<string>(\"x\");", "CS0308")]
    [InlineData("await Hello.Functions.Tokens.SpawnAsync<string>(\"x\");", "CS0308")]
    [InlineData("await Hello.Functions.Square.SpawnAsync<string>(\"x\");", "CS0308")]
    [InlineData("Hello.Functions.Square.Map<string>(new object?[][] { new object?[] { \"x\" } });", "CS0308")]
    [InlineData("Function untyped = Hello.Functions.Square; await untyped.RemoteAsync<int>(1);", "CS1061")]
    [InlineData("Hello.Functions.Tokens.RemoteAsync(1);", "CS1503")]
    [InlineData("Hello.Functions.Square.StarMap(new[] { (1, 2) });", "CS1061")]
    [InlineData("Hello.Functions.Square.RemoteGen(1);", "CS1061")]
    [InlineData("Hello.Functions.Log.Map(new[] { \"x\" });", "CS1061")]
    [InlineData("Hello.Functions.Log.MapResults(new[] { \"x\" });", "CS1061")]
    [InlineData("Hello.Functions.Log.SpawnMapAsync(new[] { \"x\" });", "CS1061")]
    [InlineData("Hello.Functions.Square.WithBatching(8, 5);", "CS1061")]
    [InlineData("Hello.Functions.Square.WithOptions(timeout: 5);", "CS1739")]
    [InlineData("int r = await Hello.Functions.Log.RemoteAsync(\"x\");", "CS0029")]
    [InlineData("Hello.Functions.Square.RemoteAsync(\"seven\");", "CS1503")]
    [InlineData("Hello.Functions.Double.RemoteAsync(new[] { 1 });", "CS1503")]
    [InlineData("Hello.Functions.Add.RemoteAsync(1);", "CS7036")]
    [InlineData("Hello.Functions.Add.Map(new[] { 1 });", "CS7036")]
    public void A_member_that_does_not_fit_the_function_is_a_compile_error(string statement, string errorCode)
    {
        var errors = Compile(statement);
        Assert.Contains(errors, error => error.Id == errorCode);
    }

    /// <summary>Declarations that once made the generated code fail to compile or warn, each with a use of its handles.</summary>
    /// <summary>
    /// A typed handle has no member that takes untyped arguments: naming a result type is an error of the compiler's own,
    /// at the call. (Function.FromName gives an UntypedFunction, the only type with untyped calls.)
    /// </summary>
    [Fact]
    public void Square_RemoteAsync_with_a_result_type_argument_does_not_compile()
    {
        var error = Assert.Single(Compile("await Hello.Functions.Square.RemoteAsync<string>(\"x\");"));
        Assert.Equal("CS0308", error.Id);
        Assert.Equal(
            "The non-generic method 'Hello.Functions.SquareFunction.RemoteAsync(int, CancellationToken)' cannot be used with type arguments",
            error.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Remote, Spawn and the maps on a generator function fail the build with a message that names RemoteGen.</summary>
    [Theory]
    [InlineData("await Hello.Functions.Tokens.RemoteAsync(\"x\");", "RemoteAsync", "call RemoteGen(...) and iterate its items with 'await foreach'")]
    [InlineData("string s = await Hello.Functions.Tokens.RemoteAsync(\"x\", CancellationToken.None);", "RemoteAsync", "call RemoteGen(...) and iterate its items with 'await foreach'")]
    [InlineData("string s = Hello.Functions.Tokens.Remote(\"x\");", "Remote", "call RemoteGen(...) and iterate its items with 'await foreach'")]
    [InlineData("FunctionCall<string> call = await Hello.Functions.Tokens.SpawnAsync(\"x\");", "SpawnAsync", "call RemoteGen(...) and iterate its items with 'await foreach'")]
    [InlineData("Hello.Functions.Tokens.Spawn(\"x\");", "Spawn", "call RemoteGen(...) and iterate its items with 'await foreach'")]
    [InlineData("await foreach (string s in Hello.Functions.Tokens.Map(new[] { \"x\" })) { }", "Map", "call RemoteGen(...) for each input")]
    [InlineData("await foreach (var r in Hello.Functions.Tokens.MapResults(new[] { \"x\" }, orderOutputs: false)) { }", "MapResults", "call RemoteGen(...) for each input")]
    [InlineData("await Hello.Functions.Tokens.ForEachAsync(new[] { \"x\" });", "ForEachAsync", "call RemoteGen(...) for each input")]
    [InlineData("MapCall<string> call = await Hello.Functions.Tokens.SpawnMapAsync(new[] { \"x\" });", "SpawnMapAsync", "call RemoteGen(...) for each input")]
    public void Remote_Spawn_and_Map_on_a_generator_function_fail_with_a_message_naming_RemoteGen(string statement, string member, string instead)
    {
        var error = Assert.Single(Compile(statement));
        Assert.Equal("CS0619", error.Id);
        Assert.EndsWith($"is obsolete: 'Tokens is a generator function, so {member} does not apply: {instead}.'",
            error.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("Hello.Functions.TokensFunction." + member + "(", error.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    public static TheoryData<string, string, string> Inputs_that_once_broke_the_generated_code => new()
    {
        {
            "a parameter named like the sequence parameter of another (orderOutputs)",
            "public static partial class P { [Function] public static int F(int orderOutput) => orderOutput; }",
            "await foreach (int r in P.Functions.F.Map(new[] { 1 }, false)) { } await foreach (FunctionResult<int> r in P.Functions.F.MapResults(Numbers())) { }"
        },
        {
            "a parameter named like the ForEachAsync flag (ignoreExceptions)",
            "public static partial class P { [Function] public static int F(int ignoreException) => ignoreException; }",
            "await P.Functions.F.ForEachAsync(new[] { 1 }, true);"
        },
        {
            "parameters named like the handle's members and locals",
            """
            public static partial class P
            {
                [Function] public static int F(int Definition, int EncodeArguments, int EncodeArgument, int DecodeResult, int DecodeArguments,
                    int RemoteAsync, int SpawnAsync, int ToAsyncEnumerable, int FFunction, int input, int inputs, int buffer, int writer, int reader,
                    int arguments, int result) => Definition;
            }
            """,
            """
            int r = await P.Functions.F.RemoteAsync(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
            r = P.Functions.F.Remote(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
            FunctionCall<int> call = P.Functions.F.Spawn(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
            """
        },
        {
            "sequence parameters named like a member (EncodeArguments)",
            "public static partial class P { [Function] public static int F(int EncodeArgument) => 1; [Function] public static int G(int EncodeArgument, int y) => y; }",
            "await foreach (int r in P.Functions.F.Map(new[] { 1 })) { } await foreach (int r in P.Functions.G.Map(new[] { 1 }, new[] { 2 })) { }"
        },
        {
            "generator parameters named like its members and locals",
            """
            public static partial class P
            {
                [Function]
                public static async IAsyncEnumerable<int> G(int EncodeItems, int items, int item, int Definition, int DecodeResult, int EncodeArguments,
                    [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
                {
                    await Task.Yield();
                    yield return items;
                }
            }
            """,
            "await foreach (int r in P.Functions.G.RemoteGen(1, 2, 3, 4, 5, 6)) { }"
        },
        {
            "batched element parameters named like members and locals",
            """
            public static partial class P
            {
                [Function, Batched] public static IReadOnlyList<int> A(IReadOnlyList<int> Definitions) => Definitions;
                [Function, Batched] public static IReadOnlyList<int> B(IReadOnlyList<int> DecodeArgumentss) => DecodeArgumentss;
                [Function, Batched] public static IReadOnlyList<int> C(IReadOnlyList<int> resultss) => resultss;
                [Function, Batched] public static IReadOnlyList<int> D(IReadOnlyList<int> inputss) => inputss;
            }
            """,
            "int r = await P.Functions.A.RemoteAsync(1) + await P.Functions.B.RemoteAsync(1) + await P.Functions.C.RemoteAsync(1) + await P.Functions.D.RemoteAsync(1);"
        },
        {
            "a base and a derived type that both declare functions",
            """
            public partial class Base { [Function] public static int F(int x) => x; }
            public partial class Derived : Base { [Function] public static int G(int x) => x; }
            """,
            "int r = await Base.Functions.F.RemoteAsync(1) + await Derived.Functions.G.RemoteAsync(2);"
        },
        {
            "a derived type whose base has its own accessible member named Functions",
            """
            public class Base { public static int Functions = 1; }
            public partial class Derived : Base { [Function] public static int G(int x) => x; }
            """,
            "int r = await Derived.Functions.G.RemoteAsync(2);"
        },
        {
            "functions named like the members of object",
            """
            public static partial class P
            {
                [Function] public static int ToString(int x) => x;
                [Function] public static int Equals(int x) => x;
                [Function] public static int GetHashCode(int x) => x;
                [Function] public static int GetType(int x) => x;
                [Function] public static int ReferenceEquals(int x) => x;
                [Function] public static int MemberwiseClone(int x) => x;
                [Function] public static int Finalize(int x) => x;
            }
            """,
            "int r = await P.Functions.ToString.RemoteAsync(1) + await P.Functions.Equals.RemoteAsync(1) + await P.Functions.GetType.RemoteAsync(1);"
        },
        {
            "an [Obsolete] function",
            "public static partial class P { [Function, Obsolete(\"use G\")] public static int F(int x) => x; }",
            "int r = await P.Functions.F.RemoteAsync(1);"
        },
        {
            "an [Obsolete] parameter and result type",
            """
            [Obsolete("old")] public sealed record Old(int Value);
            public static partial class P
            {
            #pragma warning disable CS0618
                [Function] public static Old F(Old x, int y) => x;
            #pragma warning restore CS0618
            }
            """,
            "await foreach (var r in P.Functions.F.Map(new[] { 1 }.Select(i => P.Functions.F.Local(null!, i)), new[] { 1 })) { }"
        },
        {
            "an [Experimental] function and parameter type",
            """
            [System.Diagnostics.CodeAnalysis.Experimental("EXP2")] public sealed record Preview(int Value);
            public static partial class P
            {
            #pragma warning disable EXP2
                [Function, System.Diagnostics.CodeAnalysis.Experimental("EXP1")] public static int F(Preview x) => x.Value;
            #pragma warning restore EXP2
            }
            """,
            "Function handle = P.Functions.F; string name = handle.Name;"
        },
        {
            "a keyword in the namespace",
            "namespace @class.Foo { public static partial class P { [Function] public static int F(int x) => x; } }",
            "int r = await global::@class.Foo.P.Functions.F.RemoteAsync(1);"
        },
        {
            "nullable-annotated tasks, streams and batch lists",
            """
            public static partial class P
            {
                [Function] public static Task<int>? A(int x) => null;
                [Function] public static Task? B(int x) => null;
                [Function] public static IAsyncEnumerable<int>? C(int x) => null;
                [Function, Batched] public static IReadOnlyList<int>? D(IReadOnlyList<int> xs) => xs;
                [Function, Batched] public static Task<IReadOnlyList<int>?>? E(IReadOnlyList<int> xs) => Task.FromResult<IReadOnlyList<int>?>(xs);
                [Function, Batched] public static ValueTask<IReadOnlyList<int>?> G(IReadOnlyList<int> xs) => new(xs);
            }
            """,
            "int r = await P.Functions.A.RemoteAsync(1) + await P.Functions.D.RemoteAsync(1) + await P.Functions.E.RemoteAsync(1) + await P.Functions.G.RemoteAsync(1); await P.Functions.B.RemoteAsync(1);"
        },
        {
            "more than 16 parameters, whose GetRawF needs its own delegate type",
            """
            public static partial class P
            {
                [Function] public static int F(int a1, int a2, int a3, int a4, int a5, int a6, int a7, int a8, int a9, int a10, int a11, int a12,
                    int a13, int a14, int a15, int a16, string? a17, CancellationToken cancellationToken) => a1 + a17!.Length;
                [Function] public static void V(int a1, int a2, int a3, int a4, int a5, int a6, int a7, int a8, int a9, int a10, int a11, int a12,
                    int a13, int a14, int a15, int a16, int a17) { }
            }
            """,
            """
            P.Functions.FFunction.RawMethod f = P.Functions.F.GetRawF();
            int r = f(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, "x", CancellationToken.None);
            P.Functions.VFunction.RawMethod v = P.Functions.V.GetRawF();
            v(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17);
            """
        },
    };

    [Theory]
    [MemberData(nameof(Inputs_that_once_broke_the_generated_code))]
    public void Generated_code_compiles_without_any_diagnostic(string input, string declaration, string statements)
    {
        string source = "using System;\nusing System.Collections.Generic;\nusing System.Linq;\nusing System.Threading;\nusing System.Threading.Tasks;\nusing Modal;\n" + declaration;
        string caller = $$"""
            using System;
            using System.Collections.Generic;
            using System.Linq;
            using System.Threading;
            using System.Threading.Tasks;
            using Modal;

            public static class Caller
            {
                public static async Task Run()
                {
            {{statements}}
                    await Task.Yield();
                }

                private static async IAsyncEnumerable<int> Numbers()
                {
                    await Task.Yield();
                    yield return 1;
                }
            }
            """;
        var (output, generatorDiagnostics, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(source, caller));
        Assert.True(generatorDiagnostics.IsEmpty, input + ": " + string.Join(Environment.NewLine, generatorDiagnostics));
        Assert.NotEmpty(result.GeneratedTrees);

        // Errors anywhere and any warning in a generated file: the build of a project with TreatWarningsAsErrors.
        var problems = GeneratorHarness.Problems(output);
        Assert.True(problems.Count == 0, input + ":" + Environment.NewLine + string.Join(Environment.NewLine, problems));
    }

    private static List<Diagnostic> Compile(string statement)
    {
        string caller = $$"""
            using System;
            using System.Collections.Generic;
            using System.Threading;
            using System.Threading.Tasks;
            using Modal;
            using Demo;

            public static class Caller
            {
                public static async Task Run()
                {
                    {{statement}}
                    await Task.Yield();
                }

                private static async IAsyncEnumerable<int> Numbers()
                {
                    await Task.Yield();
                    yield return 1;
                }
            }
            """;
        var (output, generatorDiagnostics, _) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(TestSources.Hello, caller));
        Assert.Empty(generatorDiagnostics);
        return GeneratorHarness.Problems(output).Where(diagnostic => diagnostic.Severity == DiagnosticSeverity.Error).ToList();
    }
}
