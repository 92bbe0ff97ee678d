using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Modal.Generator.Tests;

/// <summary>
/// Every diagnostic: its id, its message and its exact location. The span to expect is marked <c>[|...|]</c> in the source.
/// </summary>
public sealed class DiagnosticTests
{
    private const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        using Modal;

        """;

    [Fact]
    public void MODAL001_method_not_static()
        => AssertSingle("MODAL001",
            "public partial class C { [Function] public int [|F|](int x) => x; }",
            "Method 'F' has [Function] but is not static; make it 'static' (Modal calls it without an instance)");

    [Fact]
    public void MODAL002_method_generic()
        => AssertSingle("MODAL002",
            "public static partial class C { [Function] public static int F[|<T>|](int x) => x; }",
            "Method 'F' has [Function] but declares type parameters '<T>'; remove them (a remote call needs concrete types)");

    [Fact]
    public void MODAL003_containing_type_not_partial()
        => AssertSingle("MODAL003",
            "public static class [|C|] { [Function] public static int F(int x) => x; }",
            "Type 'C' contains the [Function] method 'F' but is not partial; add 'partial' to its declaration so the generator can add 'Functions'");

    [Fact]
    public void MODAL003_outer_type_not_partial()
        => AssertSingle("MODAL003",
            "public static class [|Outer|] { public static partial class Inner { [Function] public static int F(int x) => x; } }",
            "Type 'Outer' contains the [Function] method 'F' but is not partial; add 'partial' to its declaration so the generator can add 'Functions'");

    [Fact]
    public void MODAL004_containing_type_generic()
        => AssertSingle("MODAL004",
            "public static partial class C[|<T>|] { [Function] public static int F(int x) => x; }",
            "Type 'C' contains the [Function] method 'F' but declares type parameters '<T>'; move the method to a non-generic type");

    [Theory]
    [InlineData("ref", "ref int x")]
    [InlineData("out", "out int x")]
    [InlineData("in", "in int x")]
    [InlineData("params", "params int[] x")]
    public void MODAL005_parameter_modifier(string modifier, string parameter)
        => AssertSingle("MODAL005",
            $"public static partial class C {{ [Function] public static void F({parameter.Replace(modifier + " ", "[|" + modifier + "|] ", StringComparison.Ordinal)}) {{ {(modifier == "out" ? "x = 0;" : "")} }} }}",
            $"Parameter 'x' of function 'F' is declared '{modifier}'; remove the '{modifier}' modifier (arguments are copied to another process, and nothing flows back)");

    [Theory]
    [InlineData("Span<int>", "Span<int>", "is a ref struct and cannot be stored or copied to another process")]
    [InlineData("ReadOnlySpan<byte>", "ReadOnlySpan<byte>", "is a ref struct and cannot be stored or copied to another process")]
    [InlineData("Func<int>", "Func<int>", "is a delegate, and code cannot be sent to another process")]
    [InlineData("int*", "int*", "is a pointer")]
    [InlineData("C.Hidden", "Hidden", "is not accessible outside its containing type, so the generated handle cannot use it")]
    public void MODAL006_unsupported_parameter_type(string type, string display, string reason)
        => AssertSingle("MODAL006",
            $"public static unsafe partial class C {{ private sealed class Hidden {{ }} [Function] public static void F([|{type}|] x) {{ }} }}",
            $"Parameter 'x' of function 'F' has type '{display}', which {reason}; use a serializable type such as a record, an array or a primitive");

    [Theory]
    [InlineData("object", "object", "'object' has no declared shape")]
    [InlineData("dynamic", "dynamic", "'dynamic' has no declared shape")]
    [InlineData("IDisposable", "IDisposable", "the interface 'IDisposable' has no concrete type to create on the other side")]
    [InlineData("Shape", "Shape", "the abstract class 'Shape' has no [MessagePack.Union] to choose a concrete type")]
    [InlineData("List<object>", "List<object>", "'object' has no declared shape")]
    [InlineData("IReadOnlyDictionary<string, ISet<int>>", "IReadOnlyDictionary<string, ISet<int>>", "the interface 'ISet<int>' has no concrete type to create on the other side")]
    public void MODAL007_parameter_may_not_serialize(string type, string display, string reason)
        => AssertSingle("MODAL007",
            $"public abstract class Shape {{ }} public static partial class C {{ [Function] public static void F([|{type}|] x) {{ }} }}",
            $"Parameter 'x' of function 'F' has type '{display}', which MessagePack may not serialize: {reason}; use a concrete type (a record, a class with public properties, an array or a primitive)",
            DiagnosticSeverity.Warning);

    [Fact]
    public void MODAL007_is_not_reported_for_known_shapes()
    {
        var diagnostics = Run("""
            [MessagePack.Union(0, typeof(Circle))] public abstract class Shape { }
            public sealed class Circle : Shape { public double Radius { get; set; } }
            public enum Color { Red }
            public sealed record Point(int X, int Y);
            public static partial class C
            {
                [Function] public static int F(Shape shape, IReadOnlyList<Point> points, IDictionary<string, int[]> map, Color? color, (int, string) pair, DateTime at, Guid id, decimal money, byte[] bytes, string? text) => 1;
            }
            """, out _);
        Assert.Empty(diagnostics);
    }

    [Fact]
    public void MODAL008_cancellation_token_not_last()
        => AssertSingle("MODAL008",
            "public static partial class C { [Function] public static int F([|CancellationToken token|], int x) => x; }",
            "Parameter 'token' of function 'F' is a CancellationToken but is not the last parameter; move it to the end (it is not sent over the wire)");

    [Theory]
    [InlineData("Span<int>", "Span<int>", "is a ref struct and cannot be stored or copied to another process", "default")]
    [InlineData("Func<int>", "Func<int>", "is a delegate, and code cannot be sent to another process", "() => 1")]
    [InlineData("Task<Task<int>>", "Task<Task<int>>", "nests a task or an asynchronous stream inside another", "null!")]
    public void MODAL009_unsupported_return_type(string type, string display, string reason, string body)
        => AssertSingle("MODAL009",
            $"public static partial class C {{ [Function] public static [|{type}|] F(int x) => {body}; }}",
            $"Function 'F' returns '{display}', which {reason}; return void, T, Task, Task<T>, ValueTask, ValueTask<T> or IAsyncEnumerable<T> with a serializable T");

    [Fact]
    public void MODAL009_ref_return()
        => AssertSingle("MODAL009",
            "public static partial class C { private static int s_value; [Function] public static [|ref int|] F(int x) => ref s_value; }",
            "Function 'F' returns 'ref int', which is returned by reference; return void, T, Task, Task<T>, ValueTask, ValueTask<T> or IAsyncEnumerable<T> with a serializable T");

    [Theory]
    [InlineData("object", "object", "'object' has no declared shape")]
    [InlineData("Task<object>", "Task<object>", "'object' has no declared shape")]
    [InlineData("IAsyncEnumerable<IDisposable>", "IAsyncEnumerable<IDisposable>", "the interface 'IDisposable' has no concrete type to create on the other side")]
    public void MODAL010_result_may_not_serialize(string type, string display, string reason)
        => AssertSingle("MODAL010",
            $"public static partial class C {{ [Function] public static [|{type}|] F(int x) => throw null!; }}",
            $"Function 'F' returns '{display}', which MessagePack may not serialize: {reason}; return a concrete type (a record, a class with public properties, an array or a primitive)",
            DiagnosticSeverity.Warning);

    [Fact]
    public void MODAL011_duplicate_name_is_reported_on_the_second()
        => AssertSingle("MODAL011",
            """
            public static partial class A { [Function(Name = "same")] public static int F(int x) => x; }
            public static partial class B { [Function(Name = [|"same"|])] public static int G(int x) => x; }
            """,
            "Function name 'same' of 'B.G' is already used by 'A.F'; names must be unique within an app, so set a different [Function(Name = ...)]");

    [Fact]
    public void MODAL011_default_names_collide_across_types()
        => AssertSingle("MODAL011",
            """
            public static partial class A { [Function] public static int Square(int x) => x; }
            public static partial class B { [Function] public static int [|Square|](int x) => x; }
            """,
            "Function name 'Square' of 'B.Square' is already used by 'A.Square'; names must be unique within an app, so set a different [Function(Name = ...)]");

    [Theory]
    [InlineData("Function(TimeoutSeconds = [|0|])", "TimeoutSeconds", "0", "between 1 and 86400")]
    [InlineData("Function(TimeoutSeconds = [|86401|])", "TimeoutSeconds", "86401", "between 1 and 86400")]
    [InlineData("Function(MinContainers = [|-1|])", "MinContainers", "-1", "at least 0")]
    [InlineData("Function(MaxContainers = [|-1|])", "MaxContainers", "-1", "at least 0")]
    [InlineData("Function(BufferContainers = [|-1|])", "BufferContainers", "-1", "at least 0")]
    [InlineData("Function(ScaledownWindowSeconds = [|0|])", "ScaledownWindowSeconds", "0", "at least 1")]
    [InlineData("Function(MaxInputs = [|0|])", "MaxInputs", "0", "at least 1")]
    [InlineData("Function(MemoryMb = [|0|])", "MemoryMb", "0", "at least 1")]
    [InlineData("Function(Cpu = [|0|])", "Cpu", "0", "greater than 0")]
    [InlineData("Function, Retries(MaxRetries = [|11|])", "MaxRetries", "11", "between 0 and 10")]
    [InlineData("Function, Retries(BackoffCoefficient = [|0.5|])", "BackoffCoefficient", "0.5", "between 1 and 10")]
    [InlineData("Function, Retries(InitialDelayMs = [|-1|])", "InitialDelayMs", "-1", "between 0 and 60000")]
    [InlineData("Function, Retries(MaxDelayMs = [|999|])", "MaxDelayMs", "999", "between 1000 and 60000")]
    [InlineData("Function, Batched(MaxBatchSize = [|1001|])", "MaxBatchSize", "1001", "between 1 and 1000")]
    [InlineData("Function, Batched(WaitMs = [|600001|])", "WaitMs", "600001", "between 0 and 600000")]
    public void MODAL012_option_out_of_range(string attributes, string option, string value, string range)
        => AssertSingle("MODAL012",
            $"public static partial class C {{ [{attributes}] public static IReadOnlyList<int> F(IReadOnlyList<int> xs) => xs; }}",
            $"{option} of function 'F' is {value}; it must be {range}");

    [Theory]
    [InlineData("A100:0")]
    [InlineData("H100 x2")]
    [InlineData("")]
    [InlineData(":8")]
    public void MODAL013_invalid_gpu(string gpu)
        => AssertSingle("MODAL013",
            $"public static partial class C {{ [Function(Gpu = [|\"{gpu}\"|])] public static int F(int x) => x; }}",
            $"Gpu of function 'F' is \"{gpu}\"; it must be a GPU type, optionally with a count, like \"T4\", \"A100\" or \"H100:8\"");

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("has space")]
    public void MODAL014_invalid_name(string name)
        => AssertSingle("MODAL014",
            $"public static partial class C {{ [Function(Name = [|\"{name}\"|])] public static int F(int x) => x; }}",
            $"Function name '{name}' of method 'F' is not valid; a name is non-empty and has only letters, digits, '-', '_' and '.'");

    [Fact]
    public void MODAL015_min_containers_above_max()
        => AssertSingle("MODAL015",
            "public static partial class C { [Function(MinContainers = [|5|], MaxContainers = 2)] public static int F(int x) => x; }",
            "Function 'F' sets MinContainers = 5 greater than MaxContainers = 2; lower MinContainers or raise MaxContainers");

    [Theory]
    [InlineData("public static IReadOnlyList<int> F([|int|] x) => null!;", "takes 'int'")]
    [InlineData("public static IReadOnlyList<int> F([|List<int>|] x) => x;", "takes 'List<int>'")]
    [InlineData("public static IReadOnlyList<int> F(IReadOnlyList<int> x, [|IReadOnlyList<int> y|]) => x;", "takes 2 parameters")]
    [InlineData("public static IReadOnlyList<int> F[|()|] => null!;", "takes 0 parameters")]
    [InlineData("public static [|int[]|] F(IReadOnlyList<int> x) => null!;", "returns 'int[]'")]
    [InlineData("public static [|Task|] F(IReadOnlyList<int> x) => Task.CompletedTask;", "returns 'Task'")]
    public void MODAL016_invalid_batched_signature(string method, string problem)
        => AssertSingle("MODAL016",
            $"public static partial class C {{ [Function, Batched] {method} }}",
            $"[Batched] function 'F' {problem}; a batched function takes one IReadOnlyList<T> (and optionally a trailing CancellationToken) and returns IReadOnlyList<R> or a Task/ValueTask of it");

    [Fact]
    public void MODAL016_accepts_a_task_of_a_list_and_a_token()
    {
        var diagnostics = Run(
            "public static partial class C { [Function, Batched(MaxBatchSize = 4)] public static ValueTask<IReadOnlyList<string>> F(IReadOnlyList<int> xs, CancellationToken cancellationToken) => default; }",
            out _);
        Assert.Empty(diagnostics);
    }

    [Fact]
    public void MODAL017_batched_generator()
        => AssertSingle("MODAL017",
            "public static partial class C { [Function, [|Batched|]] public static async IAsyncEnumerable<int> F(IReadOnlyList<int> xs) { await Task.Yield(); yield return 1; } }",
            "Function 'F' returns IAsyncEnumerable<T> and has [Batched]; remove [Batched] or return IReadOnlyList<R>");

    [Fact]
    public void MODAL018_type_already_has_a_Functions_member()
        => AssertSingle("MODAL018",
            "public static partial class C { public static int Functions; [Function] public static int [|F|](int x) => x; }",
            "Type 'C' already declares a member named 'Functions', so the handles of function 'F' cannot be added; rename that member");

    [Fact]
    public void MODAL019_function_in_an_interface()
        => AssertSingle("MODAL019",
            "public partial interface [|I|] { [Function] static int F(int x) => x; }",
            "Function 'F' is declared in the interface 'I'; declare it in a partial class, struct or record");

    [Fact]
    public void MODAL020_containing_type_private()
        => AssertSingle("MODAL020",
            "public static partial class Outer { private static partial class [|Inner|] { [Function] public static int F(int x) => x; } }",
            "Type 'Inner' contains the [Function] method 'F' but is private; make it internal or public so the container entrypoint can call the method");

    [Fact]
    public void MODAL021_overloaded_function_methods()
        => AssertSingle("MODAL021",
            """
            public static partial class C
            {
                [Function(Name = "first")] public static int F(int x) => x;
                [Function(Name = "second")] public static int [|F|](string x) => 1;
            }
            """,
            "Function method 'F' is overloaded in 'C'; each [Function] method needs its own name, because its handle is 'Functions.F'");

    [Fact]
    public void A_function_with_an_error_generates_nothing_and_the_others_still_do()
    {
        var (output, diagnostics, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(Usings + """
            public static partial class C
            {
                [Function] public static int Good(int x) => x;
                [Function] public static int Bad(ref int x) => x;
            }
            """));
        Assert.Equal("MODAL005", Assert.Single(diagnostics).Id);
        string handles = result.Results.Single().GeneratedSources.Single(source => source.HintName == "C.Functions.g.cs").SourceText.ToString();
        Assert.Contains("GoodFunction", handles, StringComparison.Ordinal);
        Assert.DoesNotContain("BadFunction", handles, StringComparison.Ordinal);
        Assert.Empty(GeneratorHarness.Problems(output));
    }

    [Fact]
    public void A_function_with_only_warnings_is_still_generated()
    {
        var (output, diagnostics, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(Usings +
            "public static partial class C { [Function] public static object Echo(object value) => value; }"));
        Assert.Equal(new[] { "MODAL007", "MODAL010" }, diagnostics.Select(diagnostic => diagnostic.Id).Order().ToArray());
        Assert.Contains(result.Results.Single().GeneratedSources, source => source.HintName == "C.Functions.g.cs");
        Assert.Empty(GeneratorHarness.Problems(output));
    }

    [Fact]
    public void Every_descriptor_has_a_help_link_to_its_anchor_and_is_documented()
    {
        string docs = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "diagnostics.md"));
        string unshipped = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "Generator", "AnalyzerReleases.Unshipped.md"));
        foreach (var descriptor in DiagnosticDescriptors.All.Values)
        {
            Assert.Equal("https://github.com/modal-dotnet/modal-dotnet/blob/main/docs/diagnostics.md#" + descriptor.Id.ToLowerInvariant(), descriptor.HelpLinkUri);
            Assert.Contains($"<a id=\"{descriptor.Id.ToLowerInvariant()}\"></a>", docs, StringComparison.Ordinal);
            Assert.Contains(descriptor.Id + " |", unshipped, StringComparison.Ordinal);
        }
    }

    private static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string path = "")
        => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", ".."));

    /// <summary>Runs the generator over the marked source; returns the generator's diagnostics and the marked span.</summary>
    private static List<Diagnostic> Run(string markedSource, out TextSpan span)
    {
        string source = Usings + markedSource;
        int start = source.IndexOf("[|", StringComparison.Ordinal);
        int end = source.IndexOf("|]", StringComparison.Ordinal);
        span = default;
        if (start >= 0)
        {
            source = source.Remove(end, 2).Remove(start, 2);
            span = TextSpan.FromBounds(start, end - 2);
        }
        var (_, diagnostics, _) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(source));
        return diagnostics.ToList();
    }

    private static void AssertSingle(string id, string markedSource, string message, DiagnosticSeverity severity = DiagnosticSeverity.Error)
    {
        var diagnostics = Run(markedSource, out var span);
        var matching = diagnostics.Where(diagnostic => diagnostic.Id == id).ToList();
        Assert.True(matching.Count == 1, $"expected one {id}, got: {string.Join("; ", diagnostics)}");
        var diagnostic = matching[0];
        Assert.Equal(message, diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(severity, diagnostic.Severity);
        Assert.Equal("/src/File0.cs", diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(span, diagnostic.Location.SourceSpan);
        Assert.Equal(DiagnosticDescriptors.ById(id).HelpLinkUri, diagnostic.Descriptor.HelpLinkUri);
    }
}
