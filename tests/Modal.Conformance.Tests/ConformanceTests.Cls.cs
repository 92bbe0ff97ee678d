namespace Modal.Conformance.Tests;

/// <summary>
/// Classes with state (API.md §2 "Classes with state"), through <see cref="Counter"/>: parameters, [Enter] once per
/// container, state between inputs, [Exit] on a graceful stop (the 2 s scaledown window), InitFailure, a pool per
/// parameter set, keep-warm per set. [Enter] and [Exit] write instance ids to files, readable from any process.
/// </summary>
public abstract partial class ConformanceTests<TFixture>
{
    private static string[] Lines(string directory, string name)
    {
        var path = Path.Combine(directory, name);
        return File.Exists(path) ? File.ReadAllLines(path) : [];
    }

    [Fact]
    public async Task Cls_parameters_reach_the_instance()
    {
        var counter = Counter.Cls.Create(directory: NewTempDirectory(), label: "fine-tuned", size: 7);
        var state = await counter.Increment.RemoteAsync();
        Assert.Equal("fine-tuned", state.Label);
        Assert.Equal(7, state.Size);

        var defaults = await Counter.Cls.Create(directory: NewTempDirectory()).Increment.RemoteAsync();
        Assert.Equal("base", defaults.Label);
        Assert.Equal(1, defaults.Size);
    }

    [Fact]
    public async Task Cls_enters_once_per_container_and_keeps_state_between_inputs()
    {
        var directory = NewTempDirectory();
        var counter = Counter.Cls.Create(directory: directory, label: UniqueKey());
        var first = await counter.Increment.RemoteAsync();
        var second = await counter.Increment.RemoteAsync();
        var third = await counter.Increment.RemoteAsync();

        Assert.Equal([1, 2, 3], new[] { first.Count, second.Count, third.Count });
        Assert.All(new[] { first, second, third }, state => Assert.Equal(first.InstanceId, state.InstanceId));
        Assert.All(new[] { first, second, third }, state => Assert.Equal(1, state.Entered));
        Assert.Equal([first.InstanceId], Lines(directory, "enter"));
        // A generator method runs on the same instance.
        Assert.Equal(["a", "b"], await CollectAsync(Counter.Cls.Create(directory: directory, label: "ab").Spell.RemoteGen()));
    }

    [Fact]
    public async Task Cls_exit_runs_when_the_container_stops()
    {
        var directory = NewTempDirectory();
        var state = await Counter.Cls.Create(directory: directory, label: UniqueKey()).Increment.RemoteAsync();
        // Idle past its 2 s scaledown window, the container stops gracefully.
        Assert.True(await EventuallyAsync(() => Task.FromResult(Lines(directory, "exit").Contains(state.InstanceId))),
            $"[Exit] never ran for instance {state.InstanceId}; enter: [{string.Join(", ", Lines(directory, "enter"))}]");
    }

    [Fact]
    public async Task Cls_enter_failures_end_the_input_as_InitFailure_with_the_exception()
    {
        var directory = NewTempDirectory();
        var failing = Counter.Cls.Create(directory: directory, label: "broken", failEnter: true);
        var call = await failing.Increment.SpawnAsync();
        var failure = await Assert.ThrowsAsync<RemoteFunctionException>(() => call.GetAsync(Patience));
        Assert.Equal("Modal.ContainerInitFailure", failure.RemoteType);
        Assert.Contains("3 times in a row", failure.RemoteMessage, StringComparison.Ordinal);
        Assert.Contains("System.InvalidOperationException: Counter 'broken' cannot load.", failure.RemoteMessage, StringComparison.Ordinal);
        Assert.True(Lines(directory, "enter").Length >= 3, $"[Enter] ran {Lines(directory, "enter").Length} times");
        Assert.Equal(InputStatus.InitFailure, Assert.Single(await call.GetCallGraphAsync()).Status);
    }

    [Fact]
    public async Task Cls_parameter_sets_run_in_pools_of_their_own()
    {
        var directory = NewTempDirectory();
        var first = Counter.Cls.Create(directory: directory, label: UniqueKey());
        var second = Counter.Cls.Create(directory: directory, label: UniqueKey());
        // Counter has MaxContainers = 1: while the first set's only container is held, the second set still runs.
        var held = await first.HoldAsync.SpawnAsync(3000);
        Assert.True(await EventuallyAsync(() => Task.FromResult(Lines(directory, "enter").Length == 1)), "the first set never started");
        var other = await second.Increment.RemoteAsync();
        // The same parameters reach the same pool (asked at once, well inside the 2 s scaledown window).
        var again = await Counter.Cls.Create(directory: directory, label: other.Label).Increment.RemoteAsync();
        Assert.False((await first.GetCurrentStatsAsync()).NumTotalRunners == 0, "the first set has no container");
        var heldBy = await held.GetAsync();

        Assert.NotEqual(heldBy, other.InstanceId);
        Assert.Equal(1, other.Count);
        Assert.Equal(other.InstanceId, again.InstanceId);
        Assert.Equal(2, again.Count);
        Assert.Equal(2, Lines(directory, "enter").Length);
    }

    [Fact]
    public async Task Cls_keep_warm_applies_to_its_parameter_set_only()
    {
        var directory = NewTempDirectory();
        var warm = Counter.Cls.Create(directory: directory, label: UniqueKey());
        var cold = Counter.Cls.Create(directory: directory, label: UniqueKey());
        await warm.KeepWarmAsync(1);
        try
        {
            // The warm set's container starts, and enters, before any input.
            Assert.True(await EventuallyAsync(() => Task.FromResult(Lines(directory, "enter").Length == 1)), "no warm container entered");
            Assert.True(await EventuallyAsync(async () => (await warm.GetCurrentStatsAsync()).NumTotalRunners >= 1), "the warm set has no runner");
            Assert.Equal(0, (await cold.GetCurrentStatsAsync()).NumTotalRunners);
            var state = await warm.Increment.RemoteAsync();
            Assert.Equal(Lines(directory, "enter").Single(), state.InstanceId);
        }
        finally
        {
            await warm.KeepWarmAsync(0);
        }
    }
}
