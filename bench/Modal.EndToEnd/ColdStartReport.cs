using System.Globalization;
using System.Text.Json;

namespace Modal.EndToEnd;

/// <summary>Writes a <c>--cold-start</c> run as a table or as JSON.</summary>
internal static class ColdStartReport
{
    public static void WriteTable(ColdStartResult r, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"Modal.EndToEnd --cold-start  {r.StartedAt:yyyy-MM-dd HH:mm} UTC  {r.ProcessorCount} cores  {r.Runtime}  {r.Repeat} measured starts per column after a first"));
        output.WriteLine($"load average (1 min) before {Report.Format(r.LoadAverageBefore)}, after {Report.Format(r.LoadAverageAfter)}");
        output.WriteLine();
        output.WriteLine("| worker | cold first call, p50 [min–max] | bare start of the same kind | bare start, p50 [min–max] | call − bare (p50) | first: call / bare | app start |");
        output.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var kind in r.Kinds)
        {
            output.WriteLine(string.Create(c,
                $"| {WorkerKinds.NameOf(kind.Kind)} | {Times(kind.ColdCall)} | `{kind.Bare}` | {Times(kind.BareStart)} | {kind.ColdCall.P50Ms - kind.BareStart.P50Ms:F0} ms | {kind.ColdCall.FirstMs:F0} ms / {kind.BareStart.FirstMs:F0} ms | {kind.AppStartMs:F0} ms |"));
        }
        output.WriteLine();
        output.WriteLine("A cold call is one RemoteAsync that launches a fresh worker (the previous one stopped after its 1 s scaledown window);");
        output.WriteLine("the first of each column is apart because it may pull an image. App start is RunAsync, or for podman-aot the native");
        output.WriteLine("executable's deploy and a client's connection (with podman, both include the worker image's build).");
    }

    public static void WriteJson(ColdStartResult r, Stream stream)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("startedAt", r.StartedAt);
        json.WriteNumber("processorCount", r.ProcessorCount);
        json.WriteString("runtime", r.Runtime);
        json.WriteString("os", r.Os);
        Report.WriteNullable(json, "loadAverageBefore", r.LoadAverageBefore);
        Report.WriteNullable(json, "loadAverageAfter", r.LoadAverageAfter);
        json.WriteNumber("repeat", r.Repeat);
        json.WriteStartArray("kinds");
        foreach (var kind in r.Kinds)
        {
            json.WriteStartObject();
            json.WriteString("kind", WorkerKinds.NameOf(kind.Kind));
            json.WriteNumber("appStartMs", kind.AppStartMs);
            WriteTimes(json, "coldCall", kind.ColdCall);
            json.WriteString("bare", kind.Bare);
            WriteTimes(json, "bareStart", kind.BareStart);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        stream.WriteByte((byte)'\n');
    }

    private static void WriteTimes(Utf8JsonWriter json, string name, StartTimes times)
    {
        json.WriteStartObject(name);
        json.WriteNumber("firstMs", times.FirstMs);
        json.WriteNumber("p50Ms", times.P50Ms);
        json.WriteNumber("minMs", times.MinMs);
        json.WriteNumber("maxMs", times.MaxMs);
        json.WriteStartArray("samplesMs");
        foreach (var sample in times.Samples)
        {
            json.WriteNumberValue(sample);
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static string Times(StartTimes t) => string.Create(CultureInfo.InvariantCulture, $"{t.P50Ms:F0} ms [{t.MinMs:F0}–{t.MaxMs:F0}]");
}
