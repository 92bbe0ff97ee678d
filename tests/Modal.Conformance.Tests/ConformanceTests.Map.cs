namespace Modal.Conformance.Tests;

public abstract partial class ConformanceTests<TFixture>
{
    [Fact]
    public async Task Map_returns_outputs_in_input_order()
    {
        // Earlier inputs take longer, so they complete last.
        var values = Enumerable.Range(0, 8).ToArray();
        var delays = values.Select(value => (8 - value) * 40).ToArray();
        Assert.Equal(values, await CollectAsync(TestFunctions.Functions.DelayedEcho.Map(values, delays)));
    }

    [Fact]
    public async Task Map_with_orderOutputs_false_returns_every_output_as_it_completes()
    {
        // The first input takes 3 s, the others 20 ms: any second container that serves the map within those 3 s (the
        // autoscaler starts more than one for a backlog) finishes later inputs before it.
        var values = Enumerable.Range(0, 8).ToArray();
        var delays = values.Select(value => value == 0 ? 3_000 : 20).ToArray();
        var outputs = await CollectAsync(TestFunctions.Functions.DelayedEcho.Map(values, delays, orderOutputs: false));
        Assert.Equal(values, outputs.Order());
        Assert.NotEqual(0, outputs[0]); // the slowest input came first, so completion order differs
    }

    [Fact]
    public async Task Map_takes_an_async_sequence()
        => Assert.Equal(
            Enumerable.Range(0, 20).Select(x => x * x),
            await CollectAsync(TestFunctions.Functions.Square.Map(AsyncRange(0, 20))));

    [Fact]
    public async Task Map_zips_one_sequence_per_parameter_and_the_shortest_wins()
        => Assert.Equal([11, 22], await CollectAsync(TestFunctions.Functions.Add.Map([1, 2, 3], [10, 20])));

    [Fact]
    public async Task Map_runs_a_thousand_inputs()
    {
        var outputs = await CollectAsync(TestFunctions.Functions.Square.Map(Enumerable.Range(0, 1000)));
        Assert.Equal(1000, outputs.Count);
        Assert.Equal(Enumerable.Range(0, 1000).Select(x => x * x), outputs);
    }

    [Fact]
    public async Task Map_reads_its_inputs_lazily()
    {
        static IEnumerable<int> Endless()
        {
            for (int i = 0; ; i++)
            {
                yield return i;
            }
        }
        var firstFive = new List<int>();
        await foreach (var output in TestFunctions.Functions.Square.Map(Endless()))
        {
            firstFive.Add(output);
            if (firstFive.Count == 5)
            {
                break;
            }
        }
        Assert.Equal([0, 1, 4, 9, 16], firstFive);
    }

    [Fact]
    public async Task Map_throws_the_first_failure()
    {
        var exception = await Assert.ThrowsAsync<RemoteFunctionException>(
            () => CollectAsync(TestFunctions.Functions.CheckPositive.Map([1, -1, 2])));
        Assert.Equal(typeof(ArgumentOutOfRangeException).FullName, exception.RemoteType);
    }

    [Fact]
    public async Task MapResults_yields_failures_as_elements_with_their_index()
    {
        var results = await CollectAsync(TestFunctions.Functions.CheckPositive.MapResults([1, -2, 3]));
        Assert.Equal([0, 1, 2], results.Select(result => result.Index));
        Assert.True(results[0].IsSuccess);
        Assert.Equal(1, results[0].Value);
        Assert.False(results[1].IsSuccess);
        var failure = Assert.IsType<RemoteFunctionException>(results[1].Exception);
        Assert.Equal(typeof(ArgumentOutOfRangeException).FullName, failure.RemoteType);
        Assert.Throws<RemoteFunctionException>(() => results[1].Value);
        Assert.Equal(3, results[2].Value);
    }

    [Fact]
    public async Task MapResults_unordered_keeps_each_index()
    {
        var results = await CollectAsync(TestFunctions.Functions.CheckPositive.MapResults([5, -1, 7, -3], orderOutputs: false));
        Assert.Equal([0, 1, 2, 3], results.Select(result => result.Index).Order());
        Assert.All(results, result => Assert.Equal(result.Index is 0 or 2, result.IsSuccess));
    }

    [Fact]
    public async Task StarMap_spreads_each_tuple_over_the_parameters()
        => Assert.Equal([3, 7, 11], await CollectAsync(TestFunctions.Functions.Add.StarMap([(1, 2), (3, 4), (5, 6)])));

    [Fact]
    public async Task ForEachAsync_runs_every_input()
    {
        var directory = NewTempDirectory();
        string[] names = ["a", "b", "c", "d"];
        await TestFunctions.Functions.Touch.ForEachAsync(names.Select(_ => directory), names);
        Assert.All(names, name => Assert.True(File.Exists(Path.Combine(directory, name))));
    }

    [Fact]
    public async Task ForEachAsync_throws_a_failure_unless_exceptions_are_ignored()
    {
        await TestFunctions.Functions.CheckPositive.ForEachAsync([1, -1, 2], ignoreExceptions: true);
        await Assert.ThrowsAsync<RemoteFunctionException>(
            () => TestFunctions.Functions.CheckPositive.ForEachAsync([1, -1, 2], ignoreExceptions: false));
    }

    [Fact]
    public async Task Map_stops_when_the_caller_cancels()
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var started = DateTime.UtcNow;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => CollectAsync(TestFunctions.Functions.Sleep.Map([30_000, 30_000, 30_000], cancellationToken: cancellation.Token)));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), "the map waited for its 30 s inputs");
    }
}
