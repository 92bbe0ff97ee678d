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

    [Fact(Skip = "Flaky on the store-first core (issue 6, open): passed alone, but in a full .ci/run at load average ~100 it got 0 of " +
        "2,000 outputs in 180 s. Suspected: kills before hello put the whole function in launch backoff (up to 5 s), so workers are " +
        "killed faster than they start. Not yet fixed.")]
    public Task A_map_delivers_every_output_once_in_order_while_a_random_worker_is_SIGKILLed_every_200_ms()
        => MapUnderChaosAsync(ChaosAction.Kill);

    [Fact(Skip = "Fails on the store-first core (issue 6, open): 0 of 2,000 outputs in 180 s while workers are frozen and resumed " +
        "every 200 ms (92 workers seen, 342 frozen, 249 resumed, 88 killed). Not yet diagnosed; the SIGKILL variant passes.")]
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

        Assert.True(run.Failure is null, $"The map {run.Describe(inputs)} ({chaosSummary}).");
        Assert.Equal(inputs, run.Outputs.Count);
        for (var i = 0; i < inputs; i++)
        {
            Assert.True((long)i * i == run.Outputs[i], $"Output {i} is {run.Outputs[i]}, not {(long)i * i} ({chaosSummary}).");
        }
    }
}
