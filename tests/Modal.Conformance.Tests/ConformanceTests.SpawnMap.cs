namespace Modal.Conformance.Tests;

/// <summary><c>SpawnMapAsync</c> and <see cref="MapCall{R}"/> (Modal's <c>spawn_map</c>).</summary>
public abstract partial class ConformanceTests<TFixture>
{
    [Fact]
    public async Task SpawnMapAsync_commits_10000_inputs_and_a_MapCall_by_id_iterates_every_result_in_input_order()
    {
        const int count = 10_000;
        var call = await TestFunctions.Functions.Square.SpawnMapAsync(Enumerable.Range(0, count));
        Assert.Equal(count, await call.NumInputsAsync());

        var byId = MapCall.FromId<int>(call.ObjectId);
        var next = 0;
        await foreach (var result in byId.IterateAsync())
        {
            Assert.Equal(next, result.Index);
            Assert.Equal(next * next, result.Value);
            next++;
        }
        Assert.Equal(count, next);

        // Outputs are kept: a second reader sees them again, from any start and up to any end.
        var tail = new List<int>();
        await foreach (var result in call.IterateAsync(count - 5, count + 100))
        {
            tail.Add(result.Value);
        }
        Assert.Equal(Enumerable.Range(count - 5, 5).Select(i => i * i), tail);
        Assert.Equal(49, await call.GetAsync(7));
        Assert.Equal(9_998 * 9_998, await byId.GetAsync(9_998, Patience));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => call.GetAsync(count));
    }

    [Fact]
    public async Task A_spawned_map_keeps_failures_as_elements_and_GetAsync_throws_them()
    {
        var call = await TestFunctions.Functions.CheckPositive.SpawnMapAsync([3, -1, 5]);
        var results = new List<FunctionResult<int>>();
        await foreach (var result in call.IterateAsync())
        {
            results.Add(result);
        }
        Assert.Equal([0, 1, 2], results.Select(result => result.Index));
        Assert.Equal(3, results[0].Value);
        Assert.Contains("must not be negative", Assert.IsType<RemoteFunctionException>(results[1].Exception).Message);
        Assert.Equal(5, results[2].Value);
        await Assert.ThrowsAsync<RemoteFunctionException>(() => call.GetAsync(1, Patience));
    }

    [Fact]
    public async Task An_untyped_spawned_map_runs_and_a_cancelled_one_ends_its_unfinished_inputs()
    {
        var untyped = await Function.FromName("conformance", "add").SpawnMapAsync<int>(Enumerable.Range(0, 20).Select(i => new object?[] { i, i }));
        var sums = new List<int>();
        await foreach (var result in untyped.IterateAsync())
        {
            sums.Add(result.Value);
        }
        Assert.Equal(Enumerable.Range(0, 20).Select(i => 2 * i), sums);

        var empty = await TestFunctions.Functions.Square.SpawnMapAsync([]);
        Assert.Equal(0, await empty.NumInputsAsync());
        await foreach (var _ in empty.IterateAsync())
        {
            Assert.Fail("an empty map has no results");
        }

        var slow = await TestFunctions.Functions.Sleep.SpawnMapAsync(Enumerable.Repeat(120_000, 3));
        await slow.CancelAsync();
        var ended = new List<FunctionResult<int>>();
        using var patience = new CancellationTokenSource(Patience);
        await foreach (var result in slow.IterateAsync(cancellationToken: patience.Token))
        {
            ended.Add(result);
        }
        Assert.Equal(3, ended.Count);
        Assert.All(ended, result => Assert.IsType<InputCancelledException>(result.Exception));
    }
}
