using Microsoft.CodeAnalysis;

namespace Modal.Generator.Tests;

/// <summary>The diagnostics of [Cls] classes and their members: id, message and location.</summary>
public sealed partial class DiagnosticTests
{
    private const string Method = "[Method] public int Size(string text) => text.Length;";

    [Fact]
    public void MODAL040_cls_not_partial()
        => AssertSingle("MODAL040",
            $"[Cls] public class [|Model|] {{ {Method} }}",
            "Type 'Model' declares or contains the [Cls] class 'Model' but is not partial; add 'partial' to its declaration so the generator can add 'Cls'");

    [Fact]
    public void MODAL040_outer_type_not_partial()
        => AssertSingle("MODAL040",
            $"public class [|Outer|] {{ [Cls] public partial class Model {{ {Method} }} }}",
            "Type 'Outer' declares or contains the [Cls] class 'Model' but is not partial; add 'partial' to its declaration so the generator can add 'Cls'");

    [Theory]
    [InlineData("static")]
    [InlineData("abstract")]
    public void MODAL041_cls_static_or_abstract(string modifier)
        => AssertSingle("MODAL041",
            $"[Cls] public {modifier} partial class [|Model|] {{ {(modifier == "static" ? "" : Method)} }}",
            $"Class 'Model' has [Cls] but is {modifier}; each container creates an instance of it, so remove '{modifier}'");

    [Fact]
    public void MODAL041_cls_private()
        => AssertSingle("MODAL041",
            $"public partial class Outer {{ [Cls] private partial class [|Model|] {{ {Method} }} }}",
            "Class 'Model' has [Cls] but is private; each container creates an instance of it, so remove 'private'");

    [Fact]
    public void MODAL042_cls_generic()
        => AssertSingle("MODAL042",
            $"[Cls] public partial class Model[|<T>|] {{ {Method} }}",
            "Type 'Model' declares or contains the [Cls] class 'Model' but declares type parameters '<T>'; a container needs a concrete class, so remove them");

    [Fact]
    public void MODAL043_cls_without_parameterless_constructor()
        => AssertSingle("MODAL043",
            $"[Cls] public partial class [|Model|] {{ public Model(string name) {{ }} {Method} }}",
            "Class 'Model' has [Cls] but no parameterless constructor that the generated code can call; add one (values a container needs come from [Parameter] properties)");

    [Theory]
    [InlineData("public string [|Name|] { get; } = \"x\";", "has no 'init' or 'set' accessor")]
    [InlineData("public static string [|Name|] { get; set; } = \"x\";", "is static")]
    public void MODAL044_parameter_not_settable(string property, string problem)
        => AssertSingle("MODAL044",
            $"[Cls] public partial class Model {{ [Parameter] {property} {Method} }}",
            $"[Parameter] property 'Name' of class 'Model' {problem}; declare it as an instance property with 'init' or 'set', like 'public string Name {{ get; init; }}'");

    [Theory]
    [InlineData("double", "double")]
    [InlineData("int?", "int?")]
    [InlineData("List<string>", "List<string>")]
    public void MODAL045_parameter_type(string type, string display)
        => AssertSingle("MODAL045",
            $"[Cls] public partial class Model {{ [Parameter] public [|{type}|] Name {{ get; init; }} = default!; {Method} }}",
            $"[Parameter] property 'Name' of class 'Model' has type '{display}'; a parameter is a string, int, long, bool or byte[]");

    [Theory]
    [InlineData("Enter", "public void [|Load|](string path) { }", "takes 'string path'")]
    [InlineData("Enter", "public Task<bool> [|Load|]() => Task.FromResult(true);", "returns 'Task<bool>'")]
    [InlineData("Exit", "public static void [|Load|]() { }", "is static")]
    [InlineData("Exit", "public async void [|Load|]() { await Task.Yield(); }", "is 'async void', so its end and its exception would be lost (return Task)")]
    [InlineData("Enter", "public void [|Load|]<T>() { }", "declares type parameters")]
    public void MODAL046_lifecycle_signature(string kind, string method, string problem)
        => AssertSingle("MODAL046",
            $"[Cls] public partial class Model {{ [{kind}] {method} {Method} }}",
            $"[{kind}] method 'Load' of class 'Model' {problem}; an [Enter] or [Exit] method is an instance method that takes nothing but an optional CancellationToken and returns void or Task");

    [Fact]
    public void MODAL047_method_static()
        => AssertSingle("MODAL047",
            "[Cls] public partial class Model { [Method] public static int [|Size|](string text) => text.Length; }",
            "[Method] 'Size' of class 'Model' is static; remove 'static' (a method runs on the container's instance), or make it a [Function] in a static class");

    [Theory]
    [InlineData("Method", "[Method] public int [|Size|](string text) => text.Length;", "Size")]
    [InlineData("Enter", "[Enter] public void [|Load|]() { }", "Load")]
    [InlineData("Exit", "[Exit] public void [|Unload|]() { }", "Unload")]
    [InlineData("Parameter", "[Parameter] public string [|Name|] { get; init; } = \"x\";", "Name")]
    public void MODAL048_member_outside_cls(string attribute, string member, string name)
        => AssertSingle("MODAL048",
            $"public partial class Model {{ {member} }}",
            $"'{name}' has [{attribute}] but its class 'Model' has no [Cls]; add [Cls] to the class");

    [Theory]
    [InlineData("[|Retries(MaxRetries = 2)|]", "Retries", "[Retries] applies to every method of a class: put it on the [Cls] class")]
    [InlineData("[|Batched(MaxBatchSize = 4)|]", "Batched", "a method of a [Cls] class cannot be batched: declare a batched [Function] instead")]
    public void MODAL049_attribute_on_method(string attribute, string name, string reason)
        => AssertSingle("MODAL049",
            $"[Cls] public partial class Model {{ [Method, {attribute}] public IReadOnlyList<int> Size(IReadOnlyList<int> xs) => xs; }}",
            $"[Method] 'Size' of class 'Model' has [{name}], but {reason}");

    [Fact]
    public void MODAL050_method_named_like_an_instance_member()
        => AssertSingle("MODAL050",
            "[Cls] public partial class Model { [Method] public Task [|KeepWarmAsync|](int size) => Task.CompletedTask; }",
            "[Method] 'KeepWarmAsync' of class 'Model' cannot have a handle named 'KeepWarmAsync': every instance handle already has a member 'KeepWarmAsync'; rename the method");

    [Fact]
    public void MODAL050_overloaded_method()
        => AssertSingle("MODAL050",
            "[Cls] public partial class Model { [Method] public int Size(string text) => text.Length; [Method] public int [|Size|](int[] items) => items.Length; }",
            "[Method] 'Size' of class 'Model' cannot have a handle named 'Size': another [Method] has the same name, and overloads are not supported; rename the method");

    [Fact]
    public void MODAL051_cls_member_exists()
        => AssertSingle("MODAL051",
            $"[Cls] public partial class [|Model|] {{ public static int Cls = 1; {Method} }}",
            "Class 'Model' has [Cls] but already declares a member named 'Cls', so the generated 'Cls' cannot be added; rename that member");

    [Fact]
    public void MODAL052_parameters_that_become_the_same_create_argument()
        => AssertSingle("MODAL052",
            $"[Cls] public partial class Model {{ [Parameter] public string Name {{ get; init; }} = \"a\"; [Parameter] public string [|name|] {{ get; init; }} = \"b\"; {Method} }}",
            "[Parameter] properties 'Name' and 'name' of class 'Model' both become the argument 'name' of Create; rename one of them");

    [Fact]
    public void MODAL053_retries_on_a_class_without_cls()
        => AssertSingle("MODAL053",
            "[Retries(MaxRetries = 2)] public static partial class [|Jobs|] { [Function] public static int Square(int x) => x * x; }",
            "Class 'Jobs' has [Retries] but no [Cls], so nothing would retry; add [Cls] to the class, or put [Retries] on each [Function] method");

    [Fact]
    public void MODAL011_cls_named_like_a_function()
        => AssertSingle("MODAL011",
            $"public static partial class Functions1 {{ [Function] public static int Model(int x) => x; }} [Cls(Name = [|\"Model\"|])] public partial class Other {{ {Method} }}",
            "Function name 'Model' of 'Other' is already used by 'Functions1.Model'; names must be unique within an app, so set a different [Function(Name = ...)]");

    [Fact]
    public void Cls_option_out_of_range_is_MODAL012_on_the_class()
        => AssertSingle("MODAL012",
            $"[Cls(TimeoutSeconds = [|0|])] public partial class Model {{ {Method} }}",
            "TimeoutSeconds of function 'Model' is 0; it must be between 1 and 86400");

    [Fact]
    public void A_method_follows_the_function_rules()
        => AssertSingle("MODAL005",
            "[Cls] public partial class Model { [Method] public void Size([|ref|] int x) { } }",
            "Parameter 'x' of function 'Size' is declared 'ref'; remove the 'ref' modifier (arguments are copied to another process, and nothing flows back)");

    [Fact]
    public void A_valid_cls_reports_nothing()
    {
        var diagnostics = Run(TestSources.Cls, out _);
        Assert.Empty(diagnostics);
    }
}
