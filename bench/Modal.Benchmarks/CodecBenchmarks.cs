using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using MessagePack;

namespace Modal.Benchmarks;

/// <summary>
/// Argument encoding and decoding: the generated codec (what typed handles and the container entrypoint use) against
/// the untyped path. Encoding's baseline is <see cref="ModalSerializer.SerializeArguments(object?[])"/>, which
/// <c>Function.FromName(...).RemoteAsync&lt;R&gt;(params object?[])</c> uses; it includes the boxed
/// <c>params</c> array a caller builds. Decoding's baseline is what a reflection dispatcher would do: read each
/// argument by its parameter's <see cref="Type"/>.
/// </summary>
/// <remarks>BenchmarkDotNet derives from benchmark classes, so they are not sealed.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 5)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class CodecBenchmarks
{
    private static readonly Type[] s_squareParameters = [typeof(int)];
    private static readonly Type[] s_tallyParameters = [typeof(string), typeof(int[])];
    private static readonly Type[] s_totalParameters = [typeof(Order)];

    private readonly string _label = "sensor-42";
    private readonly int[] _values = Enumerable.Range(0, 16).ToArray();
    private readonly Order _order = new("SKU-1042", 3, 19.99m, ["gift", "express"]);

    private ReadOnlyMemory<byte> _squareBytes;
    private ReadOnlyMemory<byte> _tallyBytes;
    private ReadOnlyMemory<byte> _totalBytes;

    [GlobalSetup]
    public void Setup()
    {
        _squareBytes = BenchFunctions.Functions.SquareFunction.EncodeArguments(7);
        _tallyBytes = BenchFunctions.Functions.TallyFunction.EncodeArguments(_label, _values);
        _totalBytes = BenchFunctions.Functions.TotalFunction.EncodeArguments(_order);
        // Both paths must write the same bytes, or the comparison means nothing.
        Require(_squareBytes.Span.SequenceEqual(ModalSerializer.SerializeArguments([7]).Span), "int");
        Require(_tallyBytes.Span.SequenceEqual(ModalSerializer.SerializeArguments([_label, _values]).Span), "(string, int[])");
        Require(_totalBytes.Span.SequenceEqual(ModalSerializer.SerializeArguments([_order]).Span), "Order");
    }

    // ---- encode ----

    [Benchmark(Baseline = true), BenchmarkCategory("encode int")]
    public ReadOnlyMemory<byte> Encode_Int_Untyped() => ModalSerializer.SerializeArguments([7]);

    [Benchmark, BenchmarkCategory("encode int")]
    public ReadOnlyMemory<byte> Encode_Int_Generated() => BenchFunctions.Functions.SquareFunction.EncodeArguments(7);

    [Benchmark(Baseline = true), BenchmarkCategory("encode (string, int[])")]
    public ReadOnlyMemory<byte> Encode_StringArray_Untyped() => ModalSerializer.SerializeArguments([_label, _values]);

    [Benchmark, BenchmarkCategory("encode (string, int[])")]
    public ReadOnlyMemory<byte> Encode_StringArray_Generated() => BenchFunctions.Functions.TallyFunction.EncodeArguments(_label, _values);

    [Benchmark(Baseline = true), BenchmarkCategory("encode record")]
    public ReadOnlyMemory<byte> Encode_Record_Untyped() => ModalSerializer.SerializeArguments([_order]);

    [Benchmark, BenchmarkCategory("encode record")]
    public ReadOnlyMemory<byte> Encode_Record_Generated() => BenchFunctions.Functions.TotalFunction.EncodeArguments(_order);

    // ---- decode ----

    [Benchmark(Baseline = true), BenchmarkCategory("decode int")]
    public object? Decode_Int_ByType() => DecodeByType(_squareBytes, s_squareParameters)[0];

    [Benchmark, BenchmarkCategory("decode int")]
    public int Decode_Int_Generated()
    {
        BenchFunctions.Functions.SquareFunction.DecodeArguments(_squareBytes, out var x);
        return x;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("decode (string, int[])")]
    public object? Decode_StringArray_ByType() => DecodeByType(_tallyBytes, s_tallyParameters)[1];

    [Benchmark, BenchmarkCategory("decode (string, int[])")]
    public int[] Decode_StringArray_Generated()
    {
        BenchFunctions.Functions.TallyFunction.DecodeArguments(_tallyBytes, out _, out var values);
        return values;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("decode record")]
    public object? Decode_Record_ByType() => DecodeByType(_totalBytes, s_totalParameters)[0];

    [Benchmark, BenchmarkCategory("decode record")]
    public Order Decode_Record_Generated()
    {
        BenchFunctions.Functions.TotalFunction.DecodeArguments(_totalBytes, out var order);
        return order;
    }

    /// <summary>A reflection dispatcher's decode: the argument array, each element by its parameter's runtime type.</summary>
    private static object?[] DecodeByType(ReadOnlyMemory<byte> bytes, Type[] parameterTypes)
    {
        var reader = new MessagePackReader(bytes);
        var count = reader.ReadArrayHeader();
        var arguments = new object?[count];
        for (var i = 0; i < count; i++)
        {
            arguments[i] = MessagePackSerializer.Deserialize(parameterTypes[i], ref reader, ModalSerializer.Options);
        }
        return arguments;
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"The generated and the untyped encodings of {what} differ.");
        }
    }
}
