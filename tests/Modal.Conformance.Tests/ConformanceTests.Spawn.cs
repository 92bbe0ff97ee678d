namespace Modal.Conformance.Tests;

public abstract partial class ConformanceTests<TFixture>
{
    [Fact]
    public async Task SpawnAsync_then_GetAsync_returns_the_result()
    {
        var call = await TestFunctions.Functions.Square.SpawnAsync(12);
        Assert.False(string.IsNullOrWhiteSpace(call.ObjectId));
        Assert.Equal(144, await call.GetAsync());
    }

    [Fact]
    public void Spawn_and_Get_block()
    {
        var call = TestFunctions.Functions.Square.Spawn(11);
        Assert.Equal(121, call.Get());
    }

    [Fact]
    public async Task GetAsync_with_zero_timeout_polls_once_and_the_call_goes_on()
    {
        var call = await TestFunctions.Functions.Sleep.SpawnAsync(500);
        await Assert.ThrowsAsync<TimeoutException>(() => call.GetAsync(TimeSpan.Zero));
        await Assert.ThrowsAsync<TimeoutException>(() => call.GetAsync(TimeSpan.FromMilliseconds(50)));
        Assert.Equal(500, await call.GetAsync());
        Assert.Equal(500, await call.GetAsync(TimeSpan.Zero)); // a finished call answers a poll
    }

    [Fact]
    public async Task FromId_reaches_an_existing_call_typed_and_untyped()
    {
        var call = await TestFunctions.Functions.Square.SpawnAsync(9);
        Assert.Equal(81, await FunctionCall.FromId<int>(call.ObjectId).GetAsync());
        Assert.Equal(81, Convert.ToInt32(await FunctionCall.FromId(call.ObjectId).GetAsync()));
    }

    [Fact]
    public async Task FromId_with_an_unknown_id_throws_NotFound()
        => await Assert.ThrowsAsync<NotFoundException>(() => FunctionCall.FromId<int>("fc-doesnotexist0000000").GetAsync());

    [Fact]
    public async Task GatherAsync_returns_every_value_in_call_order()
    {
        var calls = new[]
        {
            await TestFunctions.Functions.Sleep.SpawnAsync(200),
            await TestFunctions.Functions.Sleep.SpawnAsync(10),
            await TestFunctions.Functions.Sleep.SpawnAsync(100),
        };
        int[] values = await FunctionCall.GatherAsync(calls);
        Assert.Equal(new[] { 200, 10, 100 }, values);
        var untyped = Array.ConvertAll(calls, call => FunctionCall.FromId(call.ObjectId));
        object?[] untypedValues = await FunctionCall.GatherAsync(untyped);
        Assert.Equal(new[] { 200, 10, 100 }, untypedValues.Select(Convert.ToInt32));
    }

    [Fact]
    public async Task GatherAsync_throws_the_first_failure()
    {
        // A warm container for the failing function: worker modes start containers on demand, slowly on a busy machine.
        await Assert.ThrowsAsync<RemoteFunctionException>(() => TestFunctions.Functions.Explode.RemoteAsync("warm"));
        var slow = await TestFunctions.Functions.Sleep.SpawnAsync(30_000);
        var failing = await TestFunctions.Functions.Explode.SpawnAsync("gathered");
        var started = DateTime.UtcNow;
        var exception = await Assert.ThrowsAsync<RemoteFunctionException>(() => FunctionCall.GatherAsync(slow, failing));
        Assert.Equal("gathered", exception.RemoteMessage);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), "GatherAsync waited for the 30 s call before reporting the failure");
        await slow.CancelAsync();
    }

    [Fact]
    public async Task CancelAsync_ends_a_running_input_as_terminated()
    {
        var call = await TestFunctions.Functions.Sleep.SpawnAsync(30_000);
        await Task.Delay(100);
        var started = DateTime.UtcNow;
        await call.CancelAsync();
        await Assert.ThrowsAsync<InputCancelledException>(() => call.GetAsync());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), "the cancelled 30 s input ran on");
        var graph = await call.GetCallGraphAsync();
        var input = Assert.Single(graph);
        Assert.Equal(InputStatus.Terminated, input.Status);
        Assert.Equal(call.ObjectId, input.FunctionCallId);
    }

    [Fact]
    public async Task CancelAsync_ends_a_pending_input_as_terminated()
    {
        var holder = await TestFunctions.Functions.Hold.SpawnAsync(1_000);
        var pending = await TestFunctions.Functions.Hold.SpawnAsync(1_000); // waits behind the holder: MaxContainers = 1
        await pending.CancelAsync();
        await Assert.ThrowsAsync<InputCancelledException>(() => pending.GetAsync());
        Assert.Equal(InputStatus.Terminated, Assert.Single(await pending.GetCallGraphAsync()).Status);
        await holder.CancelAsync();
    }

    [Fact]
    public async Task GetCallGraphAsync_shows_the_input_and_the_call_it_made()
    {
        var call = await TestFunctions.Functions.Parent.SpawnAsync(4);
        Assert.Equal(17, await call.GetAsync());
        var graph = await call.GetCallGraphAsync();
        var parent = Assert.Single(graph);
        Assert.Equal("Parent", parent.FunctionName);
        Assert.Equal(InputStatus.Success, parent.Status);
        Assert.Equal(call.ObjectId, parent.FunctionCallId);
        Assert.False(string.IsNullOrWhiteSpace(parent.InputId));
        var child = Assert.Single(parent.Children);
        Assert.Equal("Square", child.FunctionName);
        Assert.Equal(InputStatus.Success, child.Status);
        Assert.NotEqual(call.ObjectId, child.FunctionCallId);
        Assert.Empty(child.Children);
    }

    [Fact]
    public async Task Untyped_spawn_of_a_function_by_name_returns_its_result()
    {
        var call = await Function.FromName("conformance", "Square").SpawnAsync<int>(3);
        Assert.Equal(9, await call.GetAsync());
    }

    [Fact]
    public async Task GetAsync_with_a_timeout_beyond_what_a_timer_can_wait_waits_without_limit()
    {
        var call = await TestFunctions.Functions.Sleep.SpawnAsync(300);
        Assert.Equal(300, await call.GetAsync(TimeSpan.FromDays(60)));
        var another = await TestFunctions.Functions.Sleep.SpawnAsync(100);
        Assert.Equal(100, await another.GetAsync(TimeSpan.MaxValue));
        Assert.Equal(100, await another.GetAsync(Timeout.InfiniteTimeSpan));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => another.GetAsync(TimeSpan.FromSeconds(-2)));
    }

    [Fact]
    public async Task GetAsync_cancellation_stops_waiting_and_the_call_goes_on()
    {
        var call = await TestFunctions.Functions.Sleep.SpawnAsync(600);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.GetAsync(cancellationToken: cancellation.Token));
        Assert.Equal(600, await call.GetAsync());
        Assert.Equal(InputStatus.Success, Assert.Single(await call.GetCallGraphAsync()).Status);
    }

    [Fact]
    public async Task GatherAsync_over_many_calls_returns_every_result_in_call_order()
    {
        // Nap returns when it finished; calls finish in waves, not in order, and Gather must still line them up.
        var calls = new FunctionCall<long>[2_000];
        for (int i = 0; i < calls.Length; i++)
        {
            calls[i] = await TestFunctions.Functions.Nap.SpawnAsync(100);
        }
        long[] finishedAt = await FunctionCall.GatherAsync(calls);

        Assert.Equal(calls.Length, finishedAt.Length);
        for (int i = 0; i < calls.Length; i += 97)
        {
            Assert.Equal(await calls[i].GetAsync(TimeSpan.Zero), finishedAt[i]);
        }
    }

    [Fact]
    public async Task GatherAsync_over_many_calls_throws_the_first_failure_while_the_others_still_run()
    {
        // Four minutes: long past anything 2,000 spawns take on a loaded machine, within the default 300 s timeout.
        var slow = await TestFunctions.Functions.Sleep.SpawnAsync(240_000);
        var calls = new List<FunctionCall> { slow };
        for (int i = 0; i < 2_000; i++)
        {
            calls.Add(await TestFunctions.Functions.Nap.SpawnAsync(10));
        }
        calls.Add(await TestFunctions.Functions.Explode.SpawnAsync("one of many"));
        var exception = await Assert.ThrowsAsync<RemoteFunctionException>(() => FunctionCall.GatherAsync([.. calls]));
        Assert.Equal("one of many", exception.RemoteMessage);
        // The 240 s call was still running when the failure was thrown: GatherAsync did not wait for every call.
        await Assert.ThrowsAsync<TimeoutException>(() => slow.GetAsync(TimeSpan.Zero));
        await slow.CancelAsync();
    }
}
