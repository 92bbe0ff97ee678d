namespace Modal.EndToEnd;

/// <summary>Everything one run measured.</summary>
internal sealed record RunResult(
    DateTimeOffset StartedAt,
    ModalMode Mode,
    string? Database,
    int Replicas,
    string Function,
    int ProcessorCount,
    string Runtime,
    string Os,
    double? LoadAverageBefore,
    double? LoadAverageAfter,
    double StartupMs,
    double ColdCallMs,
    int Calls,
    LatencyStats Latency,
    LatencyStats Echo,
    LatencyStats Stats,
    LatencyStats Spawn,
    long AllocatedBytesPerCall,
    long ActiveTimersAfterCalls,
    MapResult MapOrdered,
    MapResult MapUnordered,
    long PeakWorkingSetBytes,
    long PeakGcHeapBytes,
    long RetainedGcHeapBytes,
    int Gen0Collections,
    int Gen1Collections,
    int Gen2Collections,
    IReadOnlyList<(string Type, long Bytes)>? CallAllocations,
    IReadOnlyList<(string Type, long Bytes)>? MapAllocations);

/// <summary>A run of the echo floor alone (<c>--echo-only</c>).</summary>
internal sealed record EchoOnlyResult(DateTimeOffset StartedAt, int ProcessorCount, double? LoadAverageBefore, double? LoadAverageAfter, int Calls, LatencyStats Echo);

/// <summary>One map over <see cref="Inputs"/> inputs.</summary>
internal sealed record MapResult(int Inputs, bool OrderOutputs, double Seconds, double InputsPerSecond, double FirstOutputMs, long AllocatedBytesPerInput, int PeakRunners);

/// <summary>Latency percentiles in milliseconds (nearest rank).</summary>
internal sealed record LatencyStats(double MeanMs, double P50Ms, double P90Ms, double P99Ms, double MaxMs)
{
    public static LatencyStats From(double[] milliseconds)
    {
        var sorted = milliseconds.Order().ToArray();
        return new LatencyStats(sorted.Average(), Rank(sorted, 0.50), Rank(sorted, 0.90), Rank(sorted, 0.99), sorted[^1]);
    }

    private static double Rank(double[] sorted, double percentile)
        => sorted[Math.Clamp((int)Math.Ceiling(percentile * sorted.Length) - 1, 0, sorted.Length - 1)];
}
