using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Modal.Integration.Tests;

/// <summary>
/// <c>SpawnMapAsync</c> across processes (issue 9): one process spawns a map on a deployed app and exits at once, while its last
/// input still runs; another reaches it by id and iterates every result in input order. 100,000 inputs: 20 to 25 s on this
/// 2-core machine at a load average under 10, 70 s at 33 (with other builds and tests beside it);
/// <c>MODAL_TEST_SPAWN_MAP_INPUTS</c> sets another size (20,000 took 31 s at the high load).
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class SpawnMapAcrossProcessesTests(IntegrationFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
{
    private const int DefaultInputs = 100_000;

    [Fact]
    public async Task A_spawned_map_runs_on_after_its_caller_exits_and_another_process_iterates_every_result_in_order()
    {
        int inputs = int.TryParse(Environment.GetEnvironmentVariable("MODAL_TEST_SPAWN_MAP_INPUTS"), out var wanted) && wanted > 0 ? wanted : DefaultInputs;
        var name = "spawn-map-" + Guid.NewGuid().ToString("N")[..8];
        var patience = TimeSpan.FromSeconds(90 + inputs / 500);
        var total = Stopwatch.StartNew();

        Assert.Contains($"deployed={name}", await ClientProcess.RunAsync(fixture.Server.Url, patience, null, "deploy", name));
        var spawned = await ClientProcess.RunAsync(fixture.Server.Url, patience, null, "spawn-map", name, inputs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var callId = CallId().Match(spawned) is { Success: true } match ? match.Groups[1].Value : throw new Xunit.Sdk.XunitException($"no call id in: {spawned}");
        var iterated = await ClientProcess.RunAsync(fixture.Server.Url, patience, null, "iterate", callId, inputs.ToString(System.Globalization.CultureInfo.InvariantCulture));

        long sum = 3L * inputs * (inputs - 1) / 2;
        Assert.Contains($"inputs={inputs} iterated={inputs} in-order sum={sum} pending-at-start=True", iterated);
        output.WriteLine($"spawn map of {inputs} inputs: {spawned.Trim()} | {iterated.Trim()} | {total.Elapsed.TotalSeconds:F1} s in all");
    }

    [GeneratedRegex(@"call=(\S+)")]
    private static partial Regex CallId();
}
