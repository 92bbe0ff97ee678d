using BenchmarkDotNet.Attributes;

namespace Modal.Benchmarks;

/// <summary>
/// Calls through <see cref="ModalMode.InProcess"/>: the whole client and dispatch path (ids, call records, the
/// generated codec both ways, the thread pool) without a network. One app per benchmark process.
/// </summary>
/// <remarks>BenchmarkDotNet derives from benchmark classes, so they are not sealed.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 5)]
public class InProcessBenchmarks
{
    /// <summary>Inputs per <c>Map</c>.</summary>
    public const int MapInputs = 10_000;

    private ModalApp? _app;
    private UntypedFunction _squareByName = null!;

    [GlobalSetup]
    public void Setup()
    {
        _app = ModalApp.RunAsync(options: new ModalAppOptions { AppName = "bench", Mode = ModalMode.InProcess }).GetAwaiter().GetResult();
        _squareByName = Function.FromName("bench", "Square");
    }

    [GlobalCleanup]
    public void Cleanup() => _app?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, Description = "Square.RemoteAsync(7)")]
    public Task<int> RemoteAsync() => BenchFunctions.Functions.Square.RemoteAsync(7);

    [Benchmark(Description = "FromName(\"Square\").RemoteAsync<int>(7)")]
    public Task<int> RemoteAsync_FromName() => _squareByName.RemoteAsync<int>(7);

    [Benchmark(OperationsPerInvoke = MapInputs, Description = "Square.Map(10,000), ordered, per input")]
    public Task<long> Map_Ordered() => SumAsync(orderOutputs: true);

    [Benchmark(OperationsPerInvoke = MapInputs, Description = "Square.Map(10,000), unordered, per input")]
    public Task<long> Map_Unordered() => SumAsync(orderOutputs: false);

    private static async Task<long> SumAsync(bool orderOutputs)
    {
        long sum = 0;
        var count = 0;
        await foreach (var square in BenchFunctions.Functions.Square.Map(Enumerable.Range(0, MapInputs), orderOutputs))
        {
            sum += square;
            count++;
        }
        return count == MapInputs ? sum : throw new InvalidOperationException($"Map yielded {count} outputs for {MapInputs} inputs.");
    }
}
