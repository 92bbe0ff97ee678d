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
    [InlineData("await Hello.Functions.Tokens.RemoteAsync(\"x\");", "CS0411")]
    [InlineData("await Hello.Functions.Tokens.RemoteAsync<string>(\"x\");", "CS0619")]
    [InlineData("await Hello.Functions.Tokens.SpawnAsync<string>(\"x\");", "CS0619")]
    [InlineData("Hello.Functions.Tokens.Spawn(\"x\");", "CS1061")]
    [InlineData("Hello.Functions.Tokens.Map(new[] { \"x\" });", "CS1061")]
    [InlineData("Hello.Functions.Square.StarMap(new[] { (1, 2) });", "CS1061")]
    [InlineData("Hello.Functions.Square.RemoteGen(1);", "CS1061")]
    [InlineData("Hello.Functions.Log.Map(new[] { \"x\" });", "CS1061")]
    [InlineData("Hello.Functions.Log.MapResults(new[] { \"x\" });", "CS1061")]
    [InlineData("int r = await Hello.Functions.Log.RemoteAsync(\"x\");", "CS0029")]
    [InlineData("Hello.Functions.Square.RemoteAsync(\"seven\");", "CS1503")]
    [InlineData("Hello.Functions.Double.RemoteAsync(new[] { 1 });", "CS1503")]
    [InlineData("Hello.Functions.Add.RemoteAsync(1);", "CS0411")]
    [InlineData("Hello.Functions.Add.Map(new[] { 1 });", "CS7036")]
    public void A_member_that_does_not_fit_the_function_is_a_compile_error(string statement, string errorCode)
    {
        var errors = Compile(statement);
        Assert.Contains(errors, error => error.Id == errorCode);
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
