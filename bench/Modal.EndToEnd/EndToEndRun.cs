using System.Diagnostics;

namespace Modal.EndToEnd;

/// <summary>
/// The measured sequence: a cold call, warm-up, timed sequential calls, the same number of bare gRPC echo calls (the
/// floor), then an ordered and an unordered map.
/// </summary>
internal static class EndToEndRun
{
    private const int TopTypes = 15;

    public static async Task<RunResult> RunAsync(ModalApp app, RunnerOptions options, DateTimeOffset startedAt, TimeSpan startup, MemorySampler memory)
    {
        var loadBefore = LoadAverage();
        var target = BenchTarget.Named(options.Function);
        var remote = target.RemoteAsync;
        var handle = target.Handle;
        var map = target.Map;
        // Started before anything is timed; measured right after the RemoteAsync calls, in the same conditions.
        await using var echo = await EchoFloor.StartAsync();

        // The first call of the function: in Embedded mode the control plane launches a worker process for it.
        var cold = Stopwatch.StartNew();
        Check(await remote(3), 9);
        cold.Stop();

        for (var i = 0; i < options.Warmup; i++)
        {
            Check(await remote(i), (long)i * i);
        }

        using var sampler = options.Allocations ? new AllocationSampler() : null;
        var latencies = new double[options.Calls];
        sampler?.Start();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < options.Calls; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var square = await remote(i);
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Check(square, (long)i * i);
        }
        var allocatedPerCall = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / options.Calls;
        var callAllocations = sampler?.Stop(TopTypes);
        // Timers still pending once the calls have returned: waits that nobody cancelled (each holds its state until it fires).
        var activeTimers = Timer.ActiveCount;

        var echoLatency = await echo.MeasureAsync(options.Warmup, options.Calls);
        // The breakdown: a unary request that reaches the control plane and reads its store (no worker), and an
        // enqueue alone (its commit, no worker on the path). RemoteAsync minus these is the worker's round trip.
        var statsLatency = await TimeAsync(options, async () => await handle.GetCurrentStatsAsync());
        var spawnLatency = await TimeAsync(options, () => target.SpawnAsync(2));

        // A small map of each kind first, so neither measured map pays for JIT or for first-use setup of the map path;
        // with --cold-map the ordered map also starts the containers it needs, as a first map does.
        if (!options.ColdMap)
        {
            var warmupInputs = Math.Min(options.Inputs, 1_000);
            await MapAsync(map, handle, warmupInputs, orderOutputs: true);
            await MapAsync(map, handle, warmupInputs, orderOutputs: false);
        }

        sampler?.Start();
        var ordered = await MapAsync(map, handle, options.Inputs, orderOutputs: true);
        var mapAllocations = sampler?.Stop(TopTypes);
        var unordered = await MapAsync(map, handle, options.Inputs, orderOutputs: false);

        var collections = (Gen0: GC.CollectionCount(0), Gen1: GC.CollectionCount(1), Gen2: GC.CollectionCount(2));
        return new RunResult(
            StartedAt: startedAt,
            Mode: app.Mode,
            Database: options.Database,
            Replicas: options.Database is null ? 0 : options.Replicas,
            Function: target.Name + (options.ColdMap ? " (cold map)" : ""),
            ProcessorCount: Environment.ProcessorCount,
            Runtime: System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            Os: System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            LoadAverageBefore: loadBefore,
            LoadAverageAfter: LoadAverage(),
            StartupMs: startup.TotalMilliseconds,
            ColdCallMs: cold.Elapsed.TotalMilliseconds,
            Calls: options.Calls,
            Latency: LatencyStats.From(latencies),
            Echo: echoLatency,
            Stats: statsLatency,
            Spawn: spawnLatency,
            AllocatedBytesPerCall: allocatedPerCall,
            ActiveTimersAfterCalls: activeTimers,
            MapOrdered: ordered,
            MapUnordered: unordered,
            PeakWorkingSetBytes: MemorySampler.PeakWorkingSetBytes,
            PeakGcHeapBytes: memory.PeakGcHeapBytes,
            // What the app still holds once its work is done (the peak above is mostly garbage not yet collected).
            RetainedGcHeapBytes: GC.GetTotalMemory(forceFullCollection: true),
            Gen0Collections: collections.Gen0,
            Gen1Collections: collections.Gen1,
            Gen2Collections: collections.Gen2,
            CallAllocations: callAllocations,
            MapAllocations: mapAllocations);
    }

    /// <summary>Warm-up calls, then <c>--calls</c> sequential timed calls of <paramref name="call"/>.</summary>
    private static async Task<LatencyStats> TimeAsync(RunnerOptions options, Func<Task> call)
    {
        for (var i = 0; i < options.Warmup; i++)
        {
            await call();
        }
        var latencies = new double[options.Calls];
        for (var i = 0; i < options.Calls; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await call();
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        return LatencyStats.From(latencies);
    }

    /// <summary>
    /// Only the echo floor (<c>--echo-only</c>), for runs beside a build of the runner that has none, such as an older
    /// release's.
    /// </summary>
    public static async Task<EchoOnlyResult> RunEchoOnlyAsync(RunnerOptions options, DateTimeOffset startedAt)
    {
        var loadBefore = LoadAverage();
        await using var echo = await EchoFloor.StartAsync();
        var latency = await echo.MeasureAsync(options.Warmup, options.Calls);
        return new EchoOnlyResult(startedAt, Environment.ProcessorCount, loadBefore, LoadAverage(), options.Calls, latency);
    }

    private static async Task<MapResult> MapAsync(Func<IEnumerable<int>, bool, IAsyncEnumerable<long>> map, Function handle, int inputs, bool orderOutputs)
    {
        using var stopStats = new CancellationTokenSource();
        var peakRunners = SamplePeakRunnersAsync(handle, stopStats.Token);
        // Exact at any size: every output must be the square of an input not seen before (squares of 0..n-1 are
        // distinct), in input order when ordered, and there must be one per input.
        var seen = new System.Collections.BitArray(inputs);
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        TimeSpan? firstOutput = null;
        var count = 0;
        await foreach (var square in map(Enumerable.Range(0, inputs), orderOutputs))
        {
            firstOutput ??= Stopwatch.GetElapsedTime(started);
            var root = (long)Math.Round(Math.Sqrt(square));
            if (root * root != square || root >= inputs || seen[(int)root] || (orderOutputs && root != count))
            {
                throw new InvalidOperationException(
                    $"Output {count} of a map over {inputs} inputs ({(orderOutputs ? "ordered" : "unordered")}) was {square}: " +
                    (orderOutputs ? $"expected {(long)count * count}." : "not the square of an input not yet returned."));
            }
            seen[(int)root] = true;
            count++;
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        await stopStats.CancelAsync();
        var runners = await peakRunners;
        if (count != inputs)
        {
            throw new InvalidOperationException($"A map over {inputs} inputs yielded {count} outputs.");
        }
        return new MapResult(
            Inputs: inputs,
            OrderOutputs: orderOutputs,
            Seconds: elapsed.TotalSeconds,
            InputsPerSecond: inputs / elapsed.TotalSeconds,
            FirstOutputMs: firstOutput?.TotalMilliseconds ?? 0,
            AllocatedBytesPerInput: (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / inputs,
            PeakRunners: runners);
    }

    /// <summary>
    /// The largest <see cref="FunctionStats.NumTotalRunners"/> seen, sampled every 50 ms. The control plane counts
    /// containers there (as Modal does); the in-process mode counts running inputs.
    /// </summary>
    private static async Task<int> SamplePeakRunnersAsync(Function handle, CancellationToken stop)
    {
        var peak = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        try
        {
            do
            {
                var stats = await handle.GetCurrentStatsAsync(stop);
                peak = Math.Max(peak, stats.NumTotalRunners);
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        return peak;
    }

    private static void Check(long actual, long expected)
    {
        if (actual != expected)
        {
            throw new InvalidOperationException($"Square returned {actual}; expected {expected}.");
        }
    }

    /// <summary>The 1-minute load average on Linux (other work on the machine skews every number here), else null.</summary>
    /// <summary>The 1-minute load average, or null where /proc/loadavg cannot be read.</summary>
    internal static double? LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
