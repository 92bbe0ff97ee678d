using System.Globalization;
using Modal.Reliability;

namespace Modal.Reliability.Tests;

/// <summary>
/// Issue 7's placement, with real worker processes: by resources (a 2,000-input map of a function with the default options,
/// 0.125 cores and 128 MiB per container, never has more worker processes alive at once than the capacity holds; before,
/// the flat limit of 32 containers put 32 workers on 2 cores), and by utilization (containers are added for a backlog only
/// while the running ones are busy: a trivial map stays on the first containers, a slow function's backlog gets more).
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class PlacementTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromMinutes(3);

    /// <summary>Counts the server's live worker processes (of one function, if named) every 20 ms while a map runs.</summary>
    private sealed class WorkerCount : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sampler;

        public WorkerCount(int serverPid, string? functionName = null) => _sampler = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var alive = functionName is null ? ProcessTree.LiveContainers(serverPid) : ProcessTree.LiveContainers(serverPid, functionName);
                MostAtOnce = Math.Max(MostAtOnce, alive.Count);
                Seen.UnionWith(alive);
                await Task.Delay(20);
            }
        });

        public int MostAtOnce { get; private set; }

        public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _sampler;
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task A_2000_input_map_with_default_options_never_runs_more_workers_at_once_than_the_capacity_holds()
    {
        const int DocumentCount = 2_000;
        const double CapacityCores = 0.5;
        // The default request of [Function]: 0.125 cores, so half a core holds four containers; all four may start before any
        // has measured its utilization, so that the capacity is what bounds them here.
        const int MostContainers = 4;
        await using var server = await ControlPlaneProcess.StartAsync(useDatabaseFile: false,
            arguments: ["--capacity-cpu", CapacityCores.ToString(CultureInfo.InvariantCulture), "--containers-before-utilization", "16"]);
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = server.Url });

        var workers = new WorkerCount(server.Pid);
        var run = await MapRun.CollectAsync(
            token => ReliabilityFunctions.Functions.WordCount.Map(Documents.Range(DocumentCount), cancellationToken: token), s_patience);
        await workers.DisposeAsync();

        Assert.True(run.Failure is null && run.Outputs.Count == DocumentCount, $"The map {run.Describe(DocumentCount)}. Server output:\n{server.OutputTail(40)}");
        Assert.Equal(ReliabilityFunctions.WordCount(Documents.Make(1_234)), run.Outputs[1_234]);
        Assert.True(workers.MostAtOnce <= MostContainers,
            $"{workers.MostAtOnce} worker processes were alive at once; --capacity-cpu {CapacityCores} holds {MostContainers} containers of 0.125 cores.");
        // The queue was served by several containers at once, not one after another.
        Assert.True(workers.MostAtOnce >= 2, $"At most {workers.MostAtOnce} worker process was alive at once (containers seen: {workers.Seen.Count}).");
    }

    [Fact]
    public async Task A_trivial_map_stays_on_the_first_containers_and_a_slow_functions_backlog_gets_more()
    {
        const int FirstContainers = 2;
        // Room for 8 default containers (2 cores at the 0.25-core floor of a local worker), whatever this machine has.
        await using var server = await ControlPlaneProcess.StartAsync(useDatabaseFile: false,
            arguments: ["--capacity-cpu", "2", "--containers-before-utilization", FirstContainers.ToString(CultureInfo.InvariantCulture)]);
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = server.Url });

        // Word counts take microseconds: the two workers mostly wait for their next input, and more would only take CPU from
        // the control plane that feeds them.
        const int DocumentCount = 2_000;
        var trivial = new WorkerCount(server.Pid, nameof(ReliabilityFunctions.WordCount));
        var run = await MapRun.CollectAsync(
            token => ReliabilityFunctions.Functions.WordCount.Map(Documents.Range(DocumentCount), cancellationToken: token), s_patience);
        await trivial.DisposeAsync();
        Assert.True(run.Failure is null && run.Outputs.Count == DocumentCount, $"The map {run.Describe(DocumentCount)}. Server output:\n{server.OutputTail(40)}");
        Assert.True(trivial.MostAtOnce <= FirstContainers,
            $"{trivial.MostAtOnce} worker processes ran a trivial map at once; its workers were idle, so it should have kept {FirstContainers}.");

        // Each nap keeps its container busy for 0.4 s: once the first containers say so, the backlog gets more.
        const int NapCount = 40;
        var slow = new WorkerCount(server.Pid, nameof(ReliabilityFunctions.Nap));
        var naps = await MapRun.CollectAsync(
            token => ReliabilityFunctions.Functions.Nap.Map(Enumerable.Range(0, NapCount), cancellationToken: token), s_patience);
        await slow.DisposeAsync();
        Assert.True(naps.Failure is null && naps.Outputs.Count == NapCount, $"The naps {naps.Describe(NapCount)}. Server output:\n{server.OutputTail(40)}");
        Assert.Equal(Enumerable.Range(0, NapCount), naps.Outputs);
        Assert.True(slow.MostAtOnce > FirstContainers,
            $"At most {slow.MostAtOnce} worker processes ran {NapCount} naps of 0.4 s at once; busy containers should have been joined by more.");
    }
}
