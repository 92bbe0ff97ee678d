namespace Modal.Conformance.Tests;

public abstract partial class ConformanceTests<TFixture>
{
    [Fact]
    public async Task FromName_calls_a_function_with_untyped_arguments()
    {
        var square = Function.FromName("conformance", "Square");
        Assert.Equal("conformance", square.AppName);
        Assert.Equal("Square", square.Name);
        Assert.Equal(81, await square.RemoteAsync<int>(9));
        Assert.Equal(5, await Function.FromName("conformance", "add").RemoteAsync<int>(2, 3));
    }

    [Fact]
    public async Task FromName_maps_and_spawns_with_untyped_arguments_and_honours_the_token()
    {
        UntypedFunction add = Function.FromName("conformance", "add");
        var sums = new List<int>();
        await foreach (var sum in add.Map<int>(Enumerable.Range(0, 50).Select(i => new object?[] { i, 1000 })))
        {
            sums.Add(sum);
        }
        Assert.Equal(Enumerable.Range(1000, 50), sums);

        var call = await add.SpawnAsync<int>(new object?[] { 20, 22 }, CancellationToken.None);
        Assert.Equal(42, await call.GetAsync());
        Assert.Equal(7, await add.RemoteAsync<int>(new object?[] { 3, 4 }, CancellationToken.None));

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => add.RemoteAsync<int>(new object?[] { 1, 2 }, cancelled.Token));
    }

    [Fact]
    public async Task HydrateAsync_sets_the_object_id()
    {
        var square = Function.FromName("conformance", "Square");
        Assert.Null(square.ObjectId);
        await square.HydrateAsync();
        Assert.False(string.IsNullOrWhiteSpace(square.ObjectId));
    }

    [Fact]
    public async Task FromName_with_an_unknown_function_throws_NotFound_naming_app_and_function()
    {
        var missing = Function.FromName("conformance", "NoSuchFunction");
        var exception = await Assert.ThrowsAsync<NotFoundException>(() => missing.RemoteAsync<int>(1));
        Assert.Contains("conformance", exception.Message);
        Assert.Contains("NoSuchFunction", exception.Message);
        await Assert.ThrowsAsync<NotFoundException>(() => missing.HydrateAsync());
    }

    [Fact]
    public async Task FromName_with_an_unknown_app_throws_NotFound_naming_app_and_function()
    {
        var missing = Function.FromName("no-such-app", "Square");
        var exception = await Assert.ThrowsAsync<NotFoundException>(() => missing.RemoteAsync<int>(1));
        Assert.Contains("no-such-app", exception.Message);
        Assert.Contains("Square", exception.Message);
        await Assert.ThrowsAsync<NotFoundException>(() => missing.SpawnAsync<int>(1));
    }

    [Fact]
    public async Task Untyped_arguments_that_do_not_fit_throw_InvalidInput()
    {
        var square = Function.FromName("conformance", "Square");
        var wrongType = await Assert.ThrowsAsync<InvalidInputException>(() => square.RemoteAsync<int>("seven"));
        Assert.Contains("Square", wrongType.Message);
        var wrongCount = await Assert.ThrowsAsync<InvalidInputException>(() => square.RemoteAsync<int>(1, 2));
        Assert.Contains("Square(int x) -> int", wrongCount.Message);
    }

    [Fact]
    public async Task GetCurrentStatsAsync_reports_backlog_and_runners()
    {
        var hold = TestFunctions.Functions.Hold; // MaxContainers = 1
        await hold.RemoteAsync(0); // a warm container: worker modes start containers on demand, slowly on a busy machine
        var calls = new[] { await hold.SpawnAsync(2_000), await hold.SpawnAsync(2_000), await hold.SpawnAsync(2_000) };
        try
        {
            FunctionStats stats = new(0, 0);
            Assert.True(await EventuallyAsync(async () =>
            {
                stats = await hold.GetCurrentStatsAsync();
                // A runner may be counted while it starts, before it has taken the first input.
                return stats.Backlog is >= 1 and <= 2 && stats.NumTotalRunners >= 1;
            }), $"stats never showed a backlog and a runner: {stats}");
            Assert.Equal(1, stats.NumTotalRunners);
            Assert.InRange(stats.Backlog, 1, 2);
        }
        finally
        {
            foreach (var call in calls)
            {
                await call.CancelAsync();
            }
        }
        Assert.True(await EventuallyAsync(async () => (await hold.GetCurrentStatsAsync()).Backlog == 0));
    }

    [Fact]
    public async Task KeepWarmAsync_keeps_that_many_runners()
    {
        var warmable = TestFunctions.Functions.Warmable;
        try
        {
            await warmable.KeepWarmAsync(2);
            FunctionStats stats = new(0, 0);
            Assert.True(await EventuallyAsync(async () => (stats = await warmable.GetCurrentStatsAsync()).NumTotalRunners >= 2),
                $"two warm containers were asked for; stats: {stats}");
        }
        finally
        {
            await warmable.KeepWarmAsync(0);
        }
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => warmable.KeepWarmAsync(-1));
        await Assert.ThrowsAsync<NotFoundException>(() => Function.FromName("conformance", "NoSuchFunction").KeepWarmAsync(1));
    }
}
