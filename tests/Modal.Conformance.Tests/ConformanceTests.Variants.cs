using System.Diagnostics;

namespace Modal.Conformance.Tests;

/// <summary>
/// Variants (<c>WithOptions</c>, <c>WithConcurrency</c>, <c>WithBatching</c>) and <c>UpdateAutoscalerAsync</c>: a variant's
/// options take effect in a pool of its own and leave the function alone.
/// </summary>
public abstract partial class ConformanceTests<TFixture>
{
    [Fact]
    public async Task Variant_with_a_timeout_times_out_while_the_function_itself_does_not()
    {
        var sleep = TestFunctions.Functions.Sleep; // declared: 300 s
        var brief = sleep.WithOptions(timeoutSeconds: 1);

        await Assert.ThrowsAsync<FunctionTimeoutException>(() => brief.RemoteAsync(5_000));
        Assert.Equal(1_500, await sleep.RemoteAsync(1_500));
    }

    [Fact]
    public async Task Variant_with_an_environment_sees_its_variable_and_the_function_itself_does_not()
    {
        var value = UniqueKey();
        var variable = TestFunctions.Functions.Variable;
        var coloured = variable.WithOptions(environment: new Dictionary<string, string> { ["CONFORMANCE_VARIANT"] = value });

        // InProcess runs every input in this one process, whose environment a variant cannot change (README).
        Assert.Equal(Fixture.Mode == ModalMode.InProcess ? null : value, await coloured.RemoteAsync("CONFORMANCE_VARIANT"));
        Assert.Null(await variable.RemoteAsync("CONFORMANCE_VARIANT"));
        Assert.Throws<ArgumentException>(() => variable.WithOptions(environment: new Dictionary<string, string> { ["MODAL_APP_NAME"] = "x" }));
    }

    [Fact]
    public async Task Variant_runs_in_a_pool_of_its_own()
    {
        var hold = TestFunctions.Functions.Hold; // MaxContainers = 1: one input at a time
        var held = await hold.SpawnAsync(120_000);
        try
        {
            Assert.True(await EventuallyAsync(async () => (await hold.GetCurrentStatsAsync()).Backlog == 0), "the held input never started");
            using var patience = new CancellationTokenSource(Patience);
            // In the function's own pool this would wait two minutes behind the held input.
            await hold.WithOptions(timeoutSeconds: 200).RemoteAsync(10, patience.Token);
            await Assert.ThrowsAsync<TimeoutException>(() => held.GetAsync(TimeSpan.Zero));
        }
        finally
        {
            await held.CancelAsync();
        }
        if (Fixture.Mode != ModalMode.InProcess)
        {
            var variable = TestFunctions.Functions.Variable;
            var own = await variable.RemoteAsync("MODAL_CONTAINER_ID");
            var variants = await variable.WithOptions(timeoutSeconds: 200).RemoteAsync("MODAL_CONTAINER_ID");
            Assert.NotNull(own);
            Assert.NotNull(variants);
            Assert.NotEqual(own, variants);
        }
    }

    [Fact]
    public async Task Variant_with_concurrency_runs_inputs_at_once_in_its_one_container()
    {
        var wide = TestFunctions.Functions.Hold.WithConcurrency(maxInputs: 4); // declared: one container, one input at a time
        await wide.RemoteAsync(0); // a warm container: its start is not timed

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => wide.RemoteAsync(1_000)));

        // Four at once take about 1 s, one at a time 4 s: under 3 s means more than one at a time, with 2 s to spare for load.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"four at once take about 1 s, took {clock.Elapsed}");
    }

    [Fact]
    public async Task Variant_with_batching_groups_inputs_in_its_own_batch_size()
    {
        var sizes = StreamingFunctions.Functions.BatchSizes; // declared: MaxBatchSize = 10, WaitMs = 200
        var small = sizes.WithBatching(maxBatchSize: 3, waitMs: 500);
        await small.RemoteAsync(0);

        var batches = await Task.WhenAll(Enumerable.Range(0, 6).Select(x => small.RemoteAsync(x)));

        Assert.InRange(batches.Max(), 2, 3);
    }

    [Fact]
    public async Task UpdateAutoscalerAsync_minContainers_starts_a_container_with_no_input_and_0_lets_it_go()
    {
        var warmable = TestFunctions.Functions.Warmable.WithOptions(scaledownWindowSeconds: 1); // a pool of its own
        await warmable.UpdateAutoscalerAsync(minContainers: 1);
        FunctionStats stats = new(0, 0);
        Assert.True(await EventuallyAsync(async () => (stats = await warmable.GetCurrentStatsAsync()).NumTotalRunners == 1),
            $"one container was asked for; stats: {stats}");
        Assert.Equal(0, stats.Backlog);

        await warmable.UpdateAutoscalerAsync(minContainers: 0);
        Assert.True(await EventuallyAsync(async () => (stats = await warmable.GetCurrentStatsAsync()).NumTotalRunners == 0),
            $"the idle container should stop after its 1 s window; stats: {stats}");
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => warmable.UpdateAutoscalerAsync(minContainers: -1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => warmable.UpdateAutoscalerAsync(minContainers: 3, maxContainers: 2));
    }

    [Fact]
    public async Task UpdateAutoscalerAsync_maxContainers_caps_the_containers_and_the_inputs_they_run()
    {
        // One input per container, up to four containers, idle ones gone after a second: a pool of its own.
        var occupy = TestFunctions.Functions.Occupy.WithConcurrency(maxInputs: 1).WithOptions(maxContainers: 4, scaledownWindowSeconds: 1);
        await occupy.UpdateAutoscalerAsync(minContainers: 2);
        FunctionStats stats = new(0, 0);
        Assert.True(await EventuallyAsync(async () => (stats = await occupy.GetCurrentStatsAsync()).NumTotalRunners == 2),
            $"two containers were asked for; stats: {stats}");

        await occupy.UpdateAutoscalerAsync(minContainers: 0, maxContainers: 1);
        Assert.True(await EventuallyAsync(async () => (stats = await occupy.GetCurrentStatsAsync()).NumTotalRunners <= 1),
            $"at most one container may stay; stats: {stats}");
        var spans = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => occupy.RemoteAsync(500)));

        // One container running one input at a time: no two inputs overlap.
        var ordered = spans.OrderBy(span => span[0]).ToList();
        for (int i = 1; i < ordered.Count; i++)
        {
            Assert.True(ordered[i][0] >= ordered[i - 1][1], $"inputs {i - 1} and {i} overlap: {string.Join("; ", ordered.Select(s => $"{s[0]}..{s[1]}"))}");
        }
        var above = await Assert.ThrowsAsync<ArgumentException>(() => occupy.UpdateAutoscalerAsync(minContainers: 2));
        Assert.Contains("min_containers would be 2 and max_containers 1", above.Message);
    }
}
