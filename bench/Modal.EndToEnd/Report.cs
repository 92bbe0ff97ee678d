using System.Globalization;
using System.Text.Json;

namespace Modal.EndToEnd;

/// <summary>Writes a run as a plain table or as JSON.</summary>
internal static class Report
{
    public static void WriteTable(RunResult r, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        var database = r.Database is null ? ""
            : r.Replicas > 1 ? $" ({r.Replicas} standalone control planes on {r.Database})" : $" (standalone control plane on {r.Database})";
        output.WriteLine(string.Create(c, $"Modal.EndToEnd  {r.StartedAt:yyyy-MM-dd HH:mm} UTC  mode {r.Mode}{database}  function {r.Function}  {r.ProcessorCount} cores  {r.Runtime}"));
        output.WriteLine(string.Create(c, $"load average (1 min) before {Format(r.LoadAverageBefore)}, after {Format(r.LoadAverageAfter)}"));
        output.WriteLine();
        output.WriteLine("| measure | value |");
        output.WriteLine("|---|---|");
        Row(output, "app start (RunAsync)", $"{r.StartupMs:F1} ms");
        Row(output, "cold call (first RemoteAsync)", $"{r.ColdCallMs:F1} ms");
        Row(output, $"RemoteAsync latency, {r.Calls} sequential calls", Latency(r.Latency));
        Row(output, $"floor: bare gRPC unary echo of {EchoFloor.PayloadBytes} B, {r.Calls} sequential calls", Latency(r.Echo));
        Row(output, "RemoteAsync / echo", $"p50 {r.Latency.P50Ms / r.Echo.P50Ms:F1}x, p99 {r.Latency.P99Ms / r.Echo.P99Ms:F1}x");
        Row(output, $"breakdown: GetCurrentStatsAsync (control plane and store, no worker), {r.Calls} calls", Latency(r.Stats));
        Row(output, $"breakdown: SpawnAsync (an enqueue's commit, no worker), {r.Calls} calls", Latency(r.Spawn));
        Row(output, "allocated per RemoteAsync (this process)", Bytes(r.AllocatedBytesPerCall));
        Row(output, "timers active right after the timed calls (this process)", r.ActiveTimersAfterCalls.ToString(CultureInfo.InvariantCulture));
        foreach (var map in new[] { r.MapOrdered, r.MapUnordered })
        {
            var name = $"Map {map.Inputs:N0} inputs, {(map.OrderOutputs ? "ordered" : "unordered")}";
            Row(output, name, $"{map.InputsPerSecond:N0} inputs/s ({map.Seconds:F2} s, first output {map.FirstOutputMs:F1} ms, {Bytes(map.AllocatedBytesPerInput)}/input allocated, peak NumTotalRunners {map.PeakRunners})");
        }
        Row(output, "peak working set (this process)", Bytes(r.PeakWorkingSetBytes));
        Row(output, "peak GC heap (this process)", Bytes(r.PeakGcHeapBytes));
        Row(output, "GC heap after a full collection at the end", Bytes(r.RetainedGcHeapBytes));
        Row(output, "GC collections gen0/gen1/gen2", $"{r.Gen0Collections}/{r.Gen1Collections}/{r.Gen2Collections}");
        WriteAllocations(output, $"sampled allocations during the {r.Calls} timed calls", r.CallAllocations);
        WriteAllocations(output, $"sampled allocations during the ordered map of {r.MapOrdered.Inputs:N0} inputs", r.MapAllocations);
    }

    public static void WriteTable(EchoOnlyResult r, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"Modal.EndToEnd  {r.StartedAt:yyyy-MM-dd HH:mm} UTC  echo floor only  {r.ProcessorCount} cores"));
        output.WriteLine(string.Create(c, $"load average (1 min) before {Format(r.LoadAverageBefore)}, after {Format(r.LoadAverageAfter)}"));
        output.WriteLine();
        output.WriteLine("| measure | value |");
        output.WriteLine("|---|---|");
        Row(output, $"floor: bare gRPC unary echo of {EchoFloor.PayloadBytes} B, {r.Calls} sequential calls", Latency(r.Echo));
    }

    private static void WriteAllocations(TextWriter output, string title, IReadOnlyList<(string Type, long Bytes)>? allocations)
    {
        if (allocations is null)
        {
            return;
        }
        output.WriteLine();
        output.WriteLine(title + ":");
        foreach (var (type, bytes) in allocations)
        {
            output.WriteLine($"  {Bytes(bytes),10}  {type}");
        }
    }

    public static void WriteJson(RunResult r, Stream stream)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("startedAt", r.StartedAt);
        json.WriteString("mode", r.Mode.ToString());
        json.WriteString("database", r.Database);
        json.WriteNumber("replicas", r.Replicas);
        json.WriteString("function", r.Function);
        json.WriteNumber("processorCount", r.ProcessorCount);
        json.WriteString("runtime", r.Runtime);
        json.WriteString("os", r.Os);
        WriteNullable(json, "loadAverageBefore", r.LoadAverageBefore);
        WriteNullable(json, "loadAverageAfter", r.LoadAverageAfter);
        json.WriteNumber("startupMs", r.StartupMs);
        json.WriteNumber("coldCallMs", r.ColdCallMs);
        json.WriteStartObject("remoteAsync");
        json.WriteNumber("calls", r.Calls);
        WriteLatency(json, r.Latency);
        json.WriteNumber("allocatedBytesPerCall", r.AllocatedBytesPerCall);
        json.WriteNumber("activeTimersAfterCalls", r.ActiveTimersAfterCalls);
        json.WriteEndObject();
        WriteEcho(json, r.Calls, r.Echo);
        json.WriteNumber("remoteToEchoP50", r.Latency.P50Ms / r.Echo.P50Ms);
        json.WriteNumber("remoteToEchoP99", r.Latency.P99Ms / r.Echo.P99Ms);
        json.WriteStartObject("getCurrentStats");
        WriteLatency(json, r.Stats);
        json.WriteEndObject();
        json.WriteStartObject("spawn");
        WriteLatency(json, r.Spawn);
        json.WriteEndObject();
        WriteMap(json, "mapOrdered", r.MapOrdered);
        WriteMap(json, "mapUnordered", r.MapUnordered);
        json.WriteNumber("peakWorkingSetBytes", r.PeakWorkingSetBytes);
        json.WriteNumber("peakGcHeapBytes", r.PeakGcHeapBytes);
        json.WriteNumber("retainedGcHeapBytes", r.RetainedGcHeapBytes);
        json.WriteNumber("gen0Collections", r.Gen0Collections);
        json.WriteNumber("gen1Collections", r.Gen1Collections);
        json.WriteNumber("gen2Collections", r.Gen2Collections);
        json.WriteEndObject();
        json.Flush();
        stream.WriteByte((byte)'\n');
    }

    public static void WriteJson(EchoOnlyResult r, Stream stream)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("startedAt", r.StartedAt);
        json.WriteNumber("processorCount", r.ProcessorCount);
        WriteNullable(json, "loadAverageBefore", r.LoadAverageBefore);
        WriteNullable(json, "loadAverageAfter", r.LoadAverageAfter);
        WriteEcho(json, r.Calls, r.Echo);
        json.WriteEndObject();
        json.Flush();
        stream.WriteByte((byte)'\n');
    }

    private static void WriteEcho(Utf8JsonWriter json, int calls, LatencyStats echo)
    {
        json.WriteStartObject("echo");
        json.WriteNumber("calls", calls);
        json.WriteNumber("payloadBytes", EchoFloor.PayloadBytes);
        WriteLatency(json, echo);
        json.WriteEndObject();
    }

    private static void WriteLatency(Utf8JsonWriter json, LatencyStats latency)
    {
        json.WriteNumber("meanMs", latency.MeanMs);
        json.WriteNumber("p50Ms", latency.P50Ms);
        json.WriteNumber("p90Ms", latency.P90Ms);
        json.WriteNumber("p99Ms", latency.P99Ms);
        json.WriteNumber("maxMs", latency.MaxMs);
    }

    private static void WriteMap(Utf8JsonWriter json, string name, MapResult map)
    {
        json.WriteStartObject(name);
        json.WriteNumber("inputs", map.Inputs);
        json.WriteBoolean("orderOutputs", map.OrderOutputs);
        json.WriteNumber("seconds", map.Seconds);
        json.WriteNumber("inputsPerSecond", map.InputsPerSecond);
        json.WriteNumber("firstOutputMs", map.FirstOutputMs);
        json.WriteNumber("allocatedBytesPerInput", map.AllocatedBytesPerInput);
        json.WriteNumber("peakRunners", map.PeakRunners);
        json.WriteEndObject();
    }

    internal static void WriteNullable(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static string Latency(LatencyStats l)
        => string.Create(CultureInfo.InvariantCulture, $"p50 {l.P50Ms:F3} ms, p90 {l.P90Ms:F3} ms, p99 {l.P99Ms:F3} ms, max {l.MaxMs:F3} ms, mean {l.MeanMs:F3} ms");

    private static void Row(TextWriter output, string measure, string value) => output.WriteLine($"| {measure} | {value} |");

    internal static string Format(double? value) => value?.ToString("F2", CultureInfo.InvariantCulture) ?? "n/a";

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):F1} MiB"),
        >= 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
