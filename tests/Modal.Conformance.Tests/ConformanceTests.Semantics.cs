namespace Modal.Conformance.Tests;

public abstract partial class ConformanceTests<TFixture>
{
    [Fact]
    public async Task RemoteFunctionException_keeps_the_remote_type_message_and_stack_trace()
    {
        var exception = await Assert.ThrowsAsync<RemoteFunctionException>(
            () => TestFunctions.Functions.Explode.RemoteAsync("kaboom"));
        Assert.Equal("System.InvalidOperationException", exception.RemoteType);
        Assert.Equal("kaboom", exception.RemoteMessage);
        Assert.Contains(nameof(TestFunctions.Explode), exception.RemoteStackTrace);
        Assert.Contains("System.InvalidOperationException", exception.Message);
        Assert.Contains("kaboom", exception.Message);
        Assert.IsAssignableFrom<ModalException>(exception);
    }

    [Fact]
    public async Task Retries_rerun_a_failing_input_until_it_succeeds()
    {
        // Fails twice, then succeeds on the third attempt ([Retries(MaxRetries = 2)]).
        Assert.Equal(3, await TestFunctions.Functions.Flaky.RemoteAsync(UniqueKey(), 2));
    }

    [Fact]
    public async Task Retries_give_up_after_MaxRetries_with_the_last_failure()
    {
        var key = UniqueKey();
        var exception = await Assert.ThrowsAsync<RemoteFunctionException>(() => TestFunctions.Functions.Flaky.RemoteAsync(key, 10));
        Assert.Equal($"Attempt 3 for '{key}' fails on purpose.", exception.RemoteMessage);
    }

    [Fact]
    public async Task A_failure_after_retries_says_how_many_attempts_were_made()
    {
        var exception = await Assert.ThrowsAsync<RemoteFunctionException>(() => TestFunctions.Functions.Flaky.RemoteAsync(UniqueKey(), 10));
        Assert.Equal(3, exception.Attempts);
        Assert.EndsWith("fails on purpose. (after 3 attempts)", exception.Message);
    }

    [Fact]
    public async Task Retries_count_attempts_per_input_in_a_map()
    {
        var keys = Enumerable.Range(0, 5).Select(_ => UniqueKey()).ToArray();
        var attempts = await CollectAsync(TestFunctions.Functions.Flaky.Map(keys, [0, 1, 2, 1, 0]));
        Assert.Equal([1, 2, 3, 2, 1], attempts);
    }

    [Fact]
    public async Task Timeout_fails_the_input_and_cancels_the_function_token()
    {
        var key = UniqueKey();
        // A warm container first, so that a cold start does not count against the 1 s timeout below.
        Assert.True(await SucceedsEventuallyAsync(() => TestFunctions.Functions.TimeoutProbe.RemoteAsync(key, true)), "no warm container");
        var started = DateTime.UtcNow;
        var exception = await Assert.ThrowsAsync<FunctionTimeoutException>(() => TestFunctions.Functions.TimeoutProbe.RemoteAsync(key, false));
        Assert.Contains("TimeoutProbe", exception.Message);
        // The function waits forever on its token: only the 1 s timeout can end it.
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(20));
        Assert.True(await EventuallyAsync(async () => await TestFunctions.Functions.TimeoutProbe.RemoteAsync(key, true) == "cancelled"),
            "the function's cancellation token was not cancelled at the timeout");
    }

    [Fact]
    public async Task Timeout_fails_the_caller_even_when_the_function_ignores_its_token()
    {
        Assert.True(await SucceedsEventuallyAsync(() => TestFunctions.Functions.IgnoresTimeout.RemoteAsync(0)), "no warm container");
        var started = DateTime.UtcNow;
        await Assert.ThrowsAsync<FunctionTimeoutException>(() => TestFunctions.Functions.IgnoresTimeout.RemoteAsync(30_000));
        // The function would run 30 s: the caller is failed at the 1 s timeout, not when the function returns.
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Timeout_is_the_status_in_the_call_graph()
    {
        var call = await TestFunctions.Functions.IgnoresTimeout.SpawnAsync(4_000);
        await Assert.ThrowsAsync<FunctionTimeoutException>(() => call.GetAsync());
        Assert.Equal(InputStatus.Timeout, Assert.Single(await call.GetCallGraphAsync()).Status);
    }

    [Fact]
    public async Task Failure_is_the_status_in_the_call_graph()
    {
        var call = await TestFunctions.Functions.Explode.SpawnAsync("graph");
        await Assert.ThrowsAsync<RemoteFunctionException>(() => call.GetAsync());
        Assert.Equal(InputStatus.Failure, Assert.Single(await call.GetCallGraphAsync()).Status);
    }

    [Fact]
    public async Task Concurrency_is_bounded_by_MaxContainers_times_MaxInputs()
    {
        // Occupy: MaxContainers = 2, MaxInputs = 2, so at most 4 inputs run at once.
        var spans = await CollectAsync(TestFunctions.Functions.Occupy.Map(Enumerable.Repeat(150, 12)));
        var events = spans.SelectMany(span => new[] { (Time: span[0], Delta: 1), (Time: span[1], Delta: -1) })
            .OrderBy(e => e.Time).ThenBy(e => e.Delta);
        int running = 0, most = 0;
        foreach (var (_, delta) in events)
        {
            running += delta;
            most = Math.Max(most, running);
        }
        Assert.InRange(most, 2, 4);
    }

    [Fact]
    public async Task Batched_function_takes_and_returns_single_elements()
    {
        Assert.Equal(42, await StreamingFunctions.Functions.Double.RemoteAsync(21));
        Assert.Equal(Enumerable.Range(0, 100).Select(x => 2 * x),
            await CollectAsync(StreamingFunctions.Functions.Double.Map(Enumerable.Range(0, 100))));
    }

    [Fact]
    public async Task Batched_function_groups_concurrent_inputs_into_batches_of_at_most_MaxBatchSize()
    {
        // BatchSizes answers each input with the size of its batch (MaxBatchSize = 10, WaitMs = 200).
        var sizes = await Task.WhenAll(Enumerable.Range(0, 25).Select(i => StreamingFunctions.Functions.BatchSizes.RemoteAsync(i)));
        Assert.All(sizes, size => Assert.InRange(size, 1, 10));
        Assert.True(sizes.Max() > 1, $"no batch held more than one input: {string.Join(", ", sizes)}");
    }

    [Fact]
    public async Task Batched_function_returning_the_wrong_number_of_results_fails_its_inputs()
    {
        var inputs = Enumerable.Range(0, 3).Select(i => StreamingFunctions.Functions.DropsOne.RemoteAsync(i)).ToArray();
        foreach (var input in inputs)
        {
            var exception = await Assert.ThrowsAsync<RemoteFunctionException>(() => input);
            Assert.Contains("exactly one result per input", exception.RemoteMessage);
        }
    }

    [Fact]
    public async Task Calls_made_inside_a_batched_function_are_children_of_its_input()
    {
        var call = await StreamingFunctions.Functions.SquareRemotely.SpawnAsync(5);
        Assert.Equal(25, await call.GetAsync());
        var input = Assert.Single(await call.GetCallGraphAsync());
        Assert.Equal("SquareRemotely", input.FunctionName);
        Assert.Equal(InputStatus.Success, input.Status);
        var child = Assert.Single(input.Children);
        Assert.Equal("Square", child.FunctionName);
        Assert.Equal(InputStatus.Success, child.Status);
    }

    [Fact]
    public async Task Batched_function_failure_fails_every_input_of_the_batch()
    {
        var inputs = new[] { 1, -1, 2 }.Select(x => StreamingFunctions.Functions.RejectNegatives.RemoteAsync(x)).ToArray();
        foreach (var input in inputs)
        {
            var exception = await Assert.ThrowsAsync<RemoteFunctionException>(() => input);
            Assert.Equal(typeof(ArgumentException).FullName, exception.RemoteType);
        }
        Assert.Equal(5, await StreamingFunctions.Functions.RejectNegatives.RemoteAsync(5)); // a later batch is unaffected
    }

    [Fact]
    public async Task Caller_cancellation_stops_waiting_promptly()
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(150));
        var started = DateTime.UtcNow;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => TestFunctions.Functions.Sleep.RemoteAsync(30_000, cancellation.Token));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), "the call waited for its 30 s input");
    }

    [Fact]
    public async Task Caller_cancellation_before_the_call_throws_at_once()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => TestFunctions.Functions.Square.RemoteAsync(2, cancellation.Token));
    }

    [Fact]
    public async Task A_call_cancelled_before_it_starts_never_runs()
    {
        var directory = NewTempDirectory();
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        for (int i = 0; i < 20; i++)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(
                () => TestFunctions.Functions.Touch.RemoteAsync(directory, $"cancelled-{i}", cancellation.Token));
        }
        // The same function, not cancelled, runs: a mark of it would have had time to appear by then.
        await TestFunctions.Functions.Touch.RemoteAsync(directory, "after");
        Assert.True(File.Exists(Path.Combine(directory, "after")));
        Assert.Equal(["after"], Directory.GetFiles(directory).Select(Path.GetFileName));
    }
}
