using System.Globalization;
using Modal.Reliability;

namespace Modal.Reliability.Tests;

/// <summary>
/// Issue 7's placement by resources: a 2,000-input map of a function with the default options (0.125 cores, 128 MiB
/// per container) on a control plane with an explicit capacity never has more worker processes alive at once than
/// that capacity holds. Before, the flat limit of 32 containers put 32 workers on 2 cores.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class PlacementTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_2000_input_map_with_default_options_never_runs_more_workers_at_once_than_the_capacity_holds()
    {
        const int DocumentCount = 2_000;
        const double CapacityCores = 0.5;
        // The default request of [Function]: 0.125 cores, so half a core holds four containers.
        const int MostContainers = 4;
        await using var server = await ControlPlaneProcess.StartAsync(useDatabaseFile: false,
            arguments: ["--capacity-cpu", CapacityCores.ToString(CultureInfo.InvariantCulture)]);
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = server.Url });

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var mostAtOnce = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                var alive = ProcessTree.LiveContainers(server.Pid);
                mostAtOnce = Math.Max(mostAtOnce, alive.Count);
                seen.UnionWith(alive);
                await Task.Delay(20);
            }
        });
        var run = await MapRun.CollectAsync(
            token => ReliabilityFunctions.Functions.WordCount.Map(Documents.Range(DocumentCount), cancellationToken: token), s_patience);
        await sampling.CancelAsync();
        await sampler;

        Assert.True(run.Failure is null && run.Outputs.Count == DocumentCount, $"The map {run.Describe(DocumentCount)}. Server output:\n{server.OutputTail(40)}");
        Assert.Equal(ReliabilityFunctions.WordCount(Documents.Make(1_234)), run.Outputs[1_234]);
        Assert.True(mostAtOnce <= MostContainers,
            $"{mostAtOnce} worker processes were alive at once; --capacity-cpu {CapacityCores} holds {MostContainers} containers of 0.125 cores.");
        // The queue was served by several containers at once, not one after another.
        Assert.True(mostAtOnce >= 2, $"At most {mostAtOnce} worker process was alive at once (containers seen: {seen.Count}).");
    }
}
