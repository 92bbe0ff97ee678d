using System.Reflection;
using MessagePack;
using MessagePack.Resolvers;
using Microsoft.CodeAnalysis;

namespace Modal.Generator.Tests;

/// <summary>
/// The formatters generated for <c>[ModalApp(Aot = true)]</c>: compiled and loaded, they write exactly the bytes MessagePack's
/// dynamic resolvers write for the same values (so JIT callers and NativeAOT workers understand each other), read them
/// back, and need no resolver beyond the built-in one for any type in the functions' signatures.
/// </summary>
public sealed class FormatterTests
{
    private static readonly Lazy<Assembly> s_app = new(() =>
    {
        var (output, diagnostics, _) = GeneratorHarness.Run(GeneratorHarness.CreateNamedCompilation("AotFormatterApp", TestSources.Aot));
        Assert.Empty(diagnostics);
        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        Assert.True(emitted.Success, string.Join(Environment.NewLine, emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        return Assembly.Load(image.ToArray());
    });

    private static IFormatterResolver Generated
        => (IFormatterResolver)s_app.Value.GetType("Modal.Generated.ModalFormatterResolver")!.GetField("Instance")!.GetValue(null)!;

    /// <summary>The generated resolver with only MessagePack's built-in formatters behind it: no dynamic resolver at all.</summary>
    private static MessagePackSerializerOptions GeneratedOnly
        => MessagePackSerializerOptions.Standard.WithResolver(CompositeResolver.Create(Generated, BuiltinResolver.Instance));

    private static readonly MessagePackSerializerOptions s_dynamic = MessagePackSerializerOptions.Standard.WithResolver(ContractlessStandardResolver.Instance);

    public static TheoryData<int> SampleIndexes => new() { 0, 1, 2, 3, 4, 5, 6, 7 };

    [Theory]
    [MemberData(nameof(SampleIndexes))]
    public void Generated_formatters_write_the_bytes_of_the_dynamic_ones_and_read_them_back(int index)
    {
        object sample = Samples()[index];
        var type = sample.GetType();
        byte[] generated = MessagePackSerializer.Serialize(type, sample, GeneratedOnly);
        byte[] dynamic = MessagePackSerializer.Serialize(type, sample, s_dynamic);
        Assert.Equal(MessagePackSerializer.ConvertToJson(dynamic, s_dynamic), MessagePackSerializer.ConvertToJson(generated, GeneratedOnly));
        Assert.Equal(dynamic, generated);

        object? read = MessagePackSerializer.Deserialize(type, dynamic, GeneratedOnly);
        Assert.Equal(generated, MessagePackSerializer.Serialize(type, read, GeneratedOnly));
    }

    [Fact]
    public void Every_type_of_the_signatures_has_a_generated_formatter_or_a_built_in_one()
    {
        string[] types =
        [
            "Demo.Point", "Demo.Label", "Demo.Person", "Demo.Pair", "Demo.Color",
            "Demo.Person[]", "System.Collections.Generic.List`1[Demo.Person]", "System.Collections.Generic.HashSet`1[Demo.Color]",
            "System.Nullable`1[Demo.Color]", "System.Collections.Generic.IReadOnlyList`1[System.String]",
            "System.Collections.Generic.Dictionary`2[System.String,System.Int32]", "System.Double[]",
        ];
        var getFormatter = typeof(IFormatterResolver).GetMethod(nameof(IFormatterResolver.GetFormatter))!;
        foreach (string name in types)
        {
            var type = s_app.Value.GetType(name) ?? Type.GetType(name) ?? ResolveGeneric(name);
            Assert.True(getFormatter.MakeGenericMethod(type).Invoke(Generated, null) is not null, $"no generated formatter for {name}");
        }
    }

    [Fact]
    public void A_DataContract_type_gets_no_formatter_and_keeps_MessagePacks_own_rules()
    {
        const string source = """
            using System.Runtime.Serialization;
            using Modal;

            [assembly: ModalApp("dc", Aot = true)]
            namespace Demo;

            [DataContract]
            public sealed class Order
            {
                [DataMember(Name = "id")] public int Id { get; set; }
            }

            public static partial class Orders
            {
                [Function] public static Order Echo(Order order) => order;
            }
            """;
        var (_, _, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(source));
        string formatters = result.Results.Single().GeneratedSources.Single(s => s.HintName == "ModalFormatters.g.cs").SourceText.ToString();
        Assert.DoesNotContain("Demo.Order", formatters, StringComparison.Ordinal);
    }

    [Fact]
    public void An_app_without_Aot_gets_no_formatters()
    {
        var (_, _, result) = GeneratorHarness.Run(GeneratorHarness.CreateCompilation(TestSources.Aot.Replace(", Aot = true", "", StringComparison.Ordinal)));
        Assert.DoesNotContain(result.Results.Single().GeneratedSources, source => source.HintName == "ModalFormatters.g.cs");
    }

    private static object[] Samples() => (object[])s_app.Value.GetType("Demo.Samples")!.GetMethod("All")!.Invoke(null, null)!;

    private static Type ResolveGeneric(string name)
    {
        // "List`1[Demo.Person]": the definition from the framework, its arguments from the app or the framework.
        int open = name.IndexOf('[', StringComparison.Ordinal);
        var definition = Type.GetType(name[..open])!;
        var arguments = name[(open + 1)..^1].Split(',').Select(argument => s_app.Value.GetType(argument) ?? Type.GetType(argument)!).ToArray();
        return definition.MakeGenericType(arguments);
    }
}
