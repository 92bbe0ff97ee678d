using Modal.Reliability;

namespace Modal.Reliability.Tests;

/// <summary>
/// A map while a random worker process (starting or running) is broken every 200 ms: every output must come back
/// correct, in input order, exactly once. The workers are the children of a standalone control plane process.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class WorkerChaosTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(200);

    // Skipped until 2026-12-04 20:12 UTC. Then, with the PostgreSQL lock order, launch-backoff and start-limit fixes and
    // the security work in, both passed at load averages of 2 to 3: SIGSTOP 3 runs of 3, SIGKILL 2 of 2 (2,000 outputs
    // each). They are load-sensitive: at load averages of 10 to 180 (other builds beside them) no worker connected,
    // since a worker needs ~0.35 CPU-s to connect and survives ~N/5 s of a kill every 200 ms. tests/run runs the test
    // projects one at a time, so these run beside nothing else. An earlier SIGSTOP run stalled at exactly 1,000 of 2,000
    // outputs (the map's outstanding limit); it was never diagnosed and did not recur in these runs.

    [Fact]
    public Task A_map_delivers_every_output_once_in_order_while_a_random_worker_is_SIGKILLed_every_200_ms()
        => MapUnderChaosAsync(ChaosAction.Kill);

    [Fact]
    public Task A_map_delivers_every_output_once_in_order_while_a_random_worker_is_frozen_with_SIGSTOP_every_200_ms()
        => MapUnderChaosAsync(ChaosAction.Freeze);

    private static async Task MapUnderChaosAsync(ChaosAction action)
    {
        var inputs = Soak.Size(ci: 2_000, soak: 10_000);
        await using var server = await ControlPlaneProcess.StartAsync(useDatabaseFile: false);
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = server.Url });

        MapRun<long> run;
        string chaosSummary;
        await using (var chaos = WorkerChaos.Start(server.Pid, action, s_interval))
        {
            run = await MapRun.CollectAsync(
                token => ReliabilityFunctions.Functions.Square.Map(Enumerable.Range(0, inputs), cancellationToken: token), s_limit);
            chaosSummary = chaos.ToString();
            Assert.True(chaos.Killed + chaos.Frozen > 0, $"The chaos never found a worker to break ({chaosSummary}).");
        }

        Assert.True(run.Failure is null, $"The map {run.Describe(inputs)} ({chaosSummary}). The server's last lines:\n{server.OutputTail(40)}");
        Assert.Equal(inputs, run.Outputs.Count);
        for (var i = 0; i < inputs; i++)
        {
            Assert.True((long)i * i == run.Outputs[i], $"Output {i} is {run.Outputs[i]}, not {(long)i * i} ({chaosSummary}).");
        }
    }
}
