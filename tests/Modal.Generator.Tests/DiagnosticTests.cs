using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Modal.Generator.Tests;

/// <summary>
/// Every diagnostic: its id, its message and its exact location. The span to expect is marked <c>[|...|]</c> in the source.
/// </summary>
public sealed partial class DiagnosticTests
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

    private const string Stream = "is a stream, which is read from a source of this process rather than held as a value (send its bytes as a byte[] instead)";
    private const string TaskReason = "is a task, a computation running in this process (await it and send its result instead)";
    private const string Delegate = "is a delegate, and code cannot be sent to another process";
    private const string Handle = "is a native-sized handle or address, which means nothing in another process (send a number of a fixed size, such as long, instead)";

    /// <summary>Types that can never cross the wire; with the declarations of <see cref="SerializabilityTypes"/>.</summary>
    [Theory]
    [InlineData("System.IO.Stream", "Stream", Stream)]
    [InlineData("System.IO.MemoryStream", "MemoryStream", Stream)]
    [InlineData("Task", "Task", TaskReason)]
    [InlineData("ValueTask<int>", "ValueTask<int>", TaskReason)]
    [InlineData("IntPtr", "nint", Handle)]
    [InlineData("nuint", "nuint", Handle)]
    [InlineData("Type", "Type", "is reflection metadata, which MessagePack does not encode (send the type's or member's name as a string instead)")]
    [InlineData("Thread", "Thread", "is a thread, handle or synchronization object of this process, which cannot be copied to another process")]
    [InlineData("IAsyncEnumerable<int>", "IAsyncEnumerable<int>", "is an asynchronous stream, produced in this process (send its items as an array instead, or stream them from a generator function)")]
    [InlineData("Action[]", "Action[]", "has elements of type 'Action', which " + Delegate)]
    [InlineData("List<System.IO.Stream>", "List<Stream>", "has the type argument 'Stream', which " + Stream)]
    [InlineData("Upload", "Upload", "has the property 'Upload.Body' of type 'Stream', which " + Stream)]
    [InlineData("Job", "Job", "has the field 'Job.Callback' of type 'Func<int>', which " + Delegate)]
    [InlineData("Batch", "Batch", "has the property 'Batch.Jobs' of type 'Job[]', which has elements of type 'Job', which has the field 'Job.Callback' of type 'Func<int>', which " + Delegate)]
    [InlineData("Derived", "Derived", "has the property 'Base.Handle' of type 'nint', which " + Handle)]
    [InlineData("Keyed", "Keyed", "has the property 'Keyed.Sent' of type 'Task<int>', which " + TaskReason)]
    public void MODAL006_type_that_can_never_serialize(string type, string display, string reason)
        => AssertSingle("MODAL006",
            SerializabilityTypes + $"public static partial class C {{ [Function] public static void F([|{type}|] x) {{ }} }}",
            $"Parameter 'x' of function 'F' has type '{display}', which {reason}; use a serializable type such as a record, an array or a primitive");

    /// <summary>Members MessagePack does not write are not judged; types from other assemblies are judged by their own type only.</summary>
    [Theory]
    [InlineData("Quiet")]
    [InlineData("KeyedOnly[]")]
    [InlineData("Contract")]
    [InlineData("Formatted")]
    [InlineData("Node")]
    [InlineData("Exception")]
    [InlineData("Uri")]
    public void A_type_whose_written_members_all_serialize_has_no_diagnostic(string type)
    {
        var diagnostics = Run(SerializabilityTypes + $"public static partial class C {{ [Function] public static {type} F({type} x) => x; }}", out _);
        Assert.Empty(diagnostics);
    }

    /// <summary>Declarations for the serializability tests: each names the member a diagnostic points into.</summary>
    private const string SerializabilityTypes = """
        using System.Runtime.Serialization;
        using MessagePack;
        public sealed class Upload { public string Name { get; set; } = ""; public System.IO.Stream Body { get; set; } = null!; }
        public sealed class Job { public int Id; public Func<int> Callback = null!; private Action _hidden = null!; }
        public sealed record Batch(string Name, Job[] Jobs);
        public class Base { public IntPtr Handle { get; set; } }
        public sealed class Derived : Base { public int Size { get; set; } }
        [MessagePackObject] public sealed class Keyed { [Key(0)] public int Id { get; set; } [Key(1)] public Task<int> Sent { get; set; } = null!; public System.IO.Stream NotWritten { get; set; } = null!; }
        [MessagePackObject] public sealed class KeyedOnly { [Key(0)] public int Id { get; set; } public System.IO.Stream NotWritten { get; set; } = null!; }
        public sealed class Quiet { public int Id { get; set; } [IgnoreMember] public System.IO.Stream Ignored { get; set; } = null!; [IgnoreDataMember] public Action Also { get; set; } = null!; internal Thread Internal { get; set; } = null!; public static Task Shared { get; set; } = null!; }
        [DataContract] public sealed class Contract { [DataMember] public int Id { get; set; } public System.IO.Stream NotAMember { get; set; } = null!; }
        [MessagePackFormatter(typeof(int))] public sealed class Formatted { public System.IO.Stream Written { get; set; } = null!; }
        public sealed class Node { public int Value { get; set; } public Node? Next { get; set; } public List<Node> Children { get; set; } = new(); }

        """;

    [Theory]
    [InlineData("System.IO.Stream", "System.IO.Stream", "Stream", Stream)]
    [InlineData("Task<System.IO.Stream>", "Task.FromResult<System.IO.Stream>(null!)", "Task<Stream>", "has the result type 'Stream', which " + Stream)]
    [InlineData("Task<Upload>", "Task.FromResult<Upload>(null!)", "Task<Upload>", "has the result type 'Upload', which has the property 'Upload.Body' of type 'Stream', which " + Stream)]
    [InlineData("Dictionary<string, Action>", "Dictionary<string, Action>", "Dictionary<string, Action>", "has the type argument 'Action', which " + Delegate)]
    public void MODAL009_result_that_can_never_serialize(string type, string _, string display, string reason)
        => AssertSingle("MODAL009",
            SerializabilityTypes + $"public static partial class C {{ [Function] public static [|{type}|] F(int x) => throw null!; }}",
            $"Function 'F' returns '{display}', which {reason}; return void, T, Task, Task<T>, ValueTask, ValueTask<T> or IAsyncEnumerable<T> with a serializable T");

    [Fact]
    public void MODAL009_generator_item_that_can_never_serialize()
        => AssertSingle("MODAL009",
            SerializabilityTypes + "public static partial class C { [Function] public static async [|IAsyncEnumerable<Job>|] F(int x) { await Task.Yield(); yield break; } }",
            "Function 'F' returns 'IAsyncEnumerable<Job>', which has the item type 'Job', which has the field 'Job.Callback' of type 'Func<int>', which " + Delegate +
            "; return void, T, Task, Task<T>, ValueTask, ValueTask<T> or IAsyncEnumerable<T> with a serializable T");

    [Fact]
    public void MODAL007_member_whose_type_is_undecidable_is_a_warning_naming_the_member()
        => AssertSingle("MODAL007",
            "public sealed record Envelope(string Kind, object Payload); public static partial class C { [Function] public static void F([|Envelope|] x) { } }",
            "Parameter 'x' of function 'F' has type 'Envelope', which MessagePack may not serialize: 'object' has no declared shape (the type of the property 'Envelope.Payload'); use a concrete type (a record, a class with public properties, an array or a primitive)",
            DiagnosticSeverity.Warning);

    [Fact]
    public void MODAL010_member_whose_type_is_undecidable_is_a_warning_naming_the_member()
        => AssertSingle("MODAL010",
            "public interface IShape { } public sealed class Drawing { public List<IShape> Shapes { get; set; } = new(); } public static partial class C { [Function] public static [|Task<Drawing>|] F(int x) => null!; }",
            "Function 'F' returns 'Task<Drawing>', which MessagePack may not serialize: the interface 'IShape' has no concrete type to create on the other side (the type of the property 'Drawing.Shapes'); return a concrete type (a record, a class with public properties, an array or a primitive)",
            DiagnosticSeverity.Warning);

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
    public void MODAL022_method_named_like_another_functions_handle_class()
        => AssertSingle("MODAL022",
            """
            public static partial class P
            {
                [Function] public static int Foo(int x) => x;
                [Function] public static int [|FooFunction|](int x) => x;
            }
            """,
            "Function method 'FooFunction' in 'P' has the name of the handle class of function 'Foo' ('Functions.FooFunction'), so its handle property would clash with that class; rename one of the methods");

    [Fact]
    public void MODAL022_leaves_the_other_function_generated_and_compiling()
    {
        var (output, diagnostics, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(Usings + """
            public static partial class P
            {
                [Function] public static int FooFunction(int x) => x;
                [Function] public static int Foo(int x) => x;
            }
            public static class Caller { public static Task<int> Call() => P.Functions.Foo.RemoteAsync(1); }
            """));
        Assert.Equal("MODAL022", Assert.Single(diagnostics).Id);
        Assert.Contains(result.Results.Single().GeneratedSources, source => source.HintName == "P.Functions.g.cs");
        var problems = GeneratorHarness.Problems(output);
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Theory]
    [InlineData("public static partial class Outer { public static partial class [|Functions|] { [Function] public static int F(int x) => x; } }", "Outer.Functions")]
    [InlineData("public static partial class [|Functions|] { [Function] public static int F(int x) => x; }", "Functions")]
    public void MODAL023_containing_type_named_Functions(string declaration, string type)
        => AssertSingle("MODAL023", declaration,
            $"Type '{type}' contains the [Function] method 'F' but is named 'Functions', and the generated nested class 'Functions' cannot have the name of its enclosing type; rename the type or move the method");

    [Fact]
    public void MODAL024_file_local_containing_type()
        => AssertSingle("MODAL024",
            "file static partial class [|P|] { [Function] public static int F(int x) => x; }",
            "Type 'P' contains the [Function] method 'F' but is file-local; remove the 'file' modifier (the generated handles and container entrypoint live in other files and must call the method)");

    [Fact]
    public void MODAL025_explicit_interface_implementation()
        => AssertSingle("MODAL025",
            "public interface I { static abstract int F(int x); } public partial class C : I { [Function] static int I.[|F|](int x) => x; }",
            "Method 'I.F' has [Function] but is an explicit interface implementation, which cannot be called by name; put [Function] on an ordinary static method and call that from the implementation");

    [Fact]
    public void MODAL026_async_void()
        => AssertSingle("MODAL026",
            "public static partial class P { [Function] public static async [|void|] F(int x) => await Task.Yield(); }",
            "Function 'F' is 'async void', so a caller could neither wait for it nor see its exception; return 'Task' instead");

    [Fact]
    public void MODAL027_nullable_cancellation_token()
        => AssertSingle("MODAL027",
            "public static partial class P { [Function] public static int F(int x, [|CancellationToken?|] token) => x; }",
            "Parameter 'token' of function 'F' is a 'CancellationToken?', which would be sent over the wire as a value instead of cancelling the call; declare it as a 'CancellationToken' (the last parameter)");

    [Theory]
    [InlineData("public static partial class P { [Function, Obsolete(\"gone\", true)] public static int [|F|](int x) => x; }", "F")]
    [InlineData("[Obsolete(\"gone\", error: true)] public static partial class P { [Function] public static int [|F|](int x) => x; }", "P")]
    public void MODAL028_obsolete_as_an_error(string declaration, string obsolete)
        => AssertSingle("MODAL028", declaration,
            $"Function 'F' cannot be generated because '{obsolete}' is marked [Obsolete] as an error, and the generated handle and container entrypoint must use it; remove [Function] or make the [Obsolete] a warning");

    [Fact]
    public void Cross_function_diagnostics_follow_the_methods_when_they_move()
    {
        // The model holds no location, yet MODAL011 must point at the method where it now is.
        var compilation = GeneratorHarness.CreateCompilation(Usings + """
            public static partial class A { [Function] public static int Square(int x) => x; }
            public static partial class B { [Function] public static int Square(int x) => x; }
            """);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var oldTree = compilation.SyntaxTrees.Single();
        var newTree = Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("// moved\n" + oldTree.GetText(), GeneratorHarness.ParseOptions, path: oldTree.FilePath);
        var diagnostic = Assert.Single(driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, newTree)).GetRunResult().Diagnostics);
        Assert.Equal("MODAL011", diagnostic.Id);
        string text = newTree.GetText().ToString();
        Assert.Equal(text.IndexOf("Square", text.IndexOf("class B", StringComparison.Ordinal), StringComparison.Ordinal), diagnostic.Location.SourceSpan.Start);
    }

    [Fact]
    public void MODAL099_an_exception_while_writing_the_generated_code_is_reported()
    {
        var model = new Modal.Generator.Model.GenerationModel(
            Modal.Generator.Model.EquatableArray<Modal.Generator.Model.FunctionModel>.Empty, new Modal.Generator.Model.CompilationData("TestApp", null));
        var reported = new List<Diagnostic>();
        var added = new List<string>();
        FunctionGenerator.Emitter.Emit(
            model,
            _ => new List<(string, string)> { ("First.g.cs", "// first"), ("@bad.g.cs", "// second") },
            (hintName, _) =>
            {
                // What Roslyn's AddSource does with a hint name it rejects.
                if (hintName.Contains('@', StringComparison.Ordinal))
                {
                    throw new ArgumentException($"The hintName '{hintName}' contains an invalid character '@' at position 0.", "hintName");
                }
                added.Add(hintName);
            },
            reported.Add,
            CancellationToken.None);

        Assert.Equal(new[] { "First.g.cs" }, added);
        var diagnostic = Assert.Single(reported);
        Assert.Equal("MODAL099", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(Location.None, diagnostic.Location);
        Assert.Equal(
            "Modal generator failed: ArgumentException: The hintName '@bad.g.cs' contains an invalid character '@' at position 0. (Parameter 'hintName') (while writing the generated code); please report this with the declaration that triggers it",
            diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void MODAL099_is_not_reported_for_a_keyword_namespace_and_the_hint_name_has_no_at_sign()
    {
        var (output, diagnostics, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(
            "using Modal; namespace @class.@int { public static partial class @event { [Function] public static int F(int x) => x; } }"));
        Assert.Empty(diagnostics);
        Assert.Equal(
            new[] { "Modal.Generated.ModalEntrypoint.g.cs", "class.int.event.Functions.g.cs" },
            result.Results.Single().GeneratedSources.Select(source => source.HintName).Order(StringComparer.Ordinal).ToArray());
        Assert.Empty(GeneratorHarness.Problems(output));
    }

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

    private static string RepositoryRoot() => RepositoryPaths.Root;

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
