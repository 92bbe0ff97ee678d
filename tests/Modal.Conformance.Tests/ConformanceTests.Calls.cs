namespace Modal.Conformance.Tests;

public abstract partial class ConformanceTests<TFixture>
{
    [Fact]
    public async Task RemoteAsync_returns_the_result()
        => Assert.Equal(49, await TestFunctions.Functions.Square.RemoteAsync(7));

    [Fact]
    public void Remote_blocks_until_the_result_arrives()
        => Assert.Equal(64, TestFunctions.Functions.Square.Remote(8));

    [Fact]
    public async Task RemoteAsync_sends_every_parameter_and_keeps_the_token_local()
        => Assert.Equal(5, await TestFunctions.Functions.Add.RemoteAsync(2, 3));

    [Fact]
    public async Task Function_without_a_result_runs_remotely()
    {
        var directory = NewTempDirectory();
        await TestFunctions.Functions.Touch.RemoteAsync(directory, "async");
        TestFunctions.Functions.Touch.Remote(directory, "blocking");
        Assert.True(File.Exists(Path.Combine(directory, "async")));
        Assert.True(File.Exists(Path.Combine(directory, "blocking")));
    }

    [Fact]
    public async Task Function_without_a_result_can_be_spawned_and_its_call_yields_null()
    {
        var directory = NewTempDirectory();
        FunctionCall call = await TestFunctions.Functions.Touch.SpawnAsync(directory, "spawned");
        Assert.Null(await call.GetAsync());
        Assert.True(File.Exists(Path.Combine(directory, "spawned")));
    }

    [Fact]
    public async Task User_record_round_trips_as_argument_and_result()
    {
        var older = await TestFunctions.Functions.Birthday.RemoteAsync(new Person("Ada", 36, ["math"]));
        Assert.Equal("Ada", older.Name);
        Assert.Equal(37, older.Age);
        Assert.Equal(["math", "older"], older.Tags);
    }

    [Fact]
    public async Task Null_and_non_ascii_strings_round_trip()
    {
        Assert.Null(await TestFunctions.Functions.Echo.RemoteAsync(null));
        Assert.Equal(string.Empty, await TestFunctions.Functions.Echo.RemoteAsync(string.Empty));
        Assert.Equal("héllo ✓", await TestFunctions.Functions.Echo.RemoteAsync("héllo ✓"));
    }

    [Fact]
    public async Task Local_runs_the_method_in_this_process()
    {
        Assert.Equal(25, TestFunctions.Functions.Square.Local(5));
        Assert.Equal(7, await TestFunctions.Functions.Add.Local(3, 4));
        Assert.Equal([0, 1, 2], await CollectAsync(StreamingFunctions.Functions.Count.Local(3)));
        Assert.Equal([2, 4], StreamingFunctions.Functions.Double.Local([1, 2]));
    }

    [Fact]
    public async Task GetRawF_returns_the_method_itself()
    {
        Func<int, int> square = TestFunctions.Functions.Square.GetRawF();
        Assert.Equal(36, square(6));
        Func<int, int, CancellationToken, Task<int>> add = TestFunctions.Functions.Add.GetRawF();
        Assert.Equal(9, await add(4, 5, CancellationToken.None));
    }

    [Fact]
    public void Handles_know_their_app_and_remote_name()
    {
        Assert.Equal("Square", TestFunctions.Functions.Square.Name);
        Assert.Equal("add", TestFunctions.Functions.Add.Name);
        Assert.Equal("conformance", TestFunctions.Functions.Square.AppName);
        Assert.Equal("elsewhere", TestFunctions.Functions.Square.WithApp("elsewhere").AppName);
        Assert.Null(TestFunctions.Functions.Square.WebUrl);
    }

    [Fact]
    public async Task WithApp_bound_to_an_app_that_is_not_deployed_throws_NotFound()
    {
        var exception = await Assert.ThrowsAsync<NotFoundException>(
            () => TestFunctions.Functions.Square.WithApp("not-deployed-app").RemoteAsync(2));
        Assert.Contains("not-deployed-app", exception.Message);
    }

    [Fact]
    public async Task WithApp_bound_to_the_running_app_calls_it()
        => Assert.Equal(4, await TestFunctions.Functions.Square.WithApp("conformance").RemoteAsync(2));

    [Fact]
    public async Task RemoteGen_yields_every_item_in_order()
        => Assert.Equal(Enumerable.Range(0, 50), await CollectAsync(StreamingFunctions.Functions.Count.RemoteGen(50)));

    [Fact]
    public async Task RemoteGen_streams_items_as_they_are_produced()
    {
        var produced = new List<long>();
        var received = new List<long>();
        // Items 1.5 s apart: on a loaded machine, with three replicas, a chunk took over 300 ms to reach the caller.
        await foreach (var producedAt in StreamingFunctions.Functions.Timed.RemoteGen(3, 1_500))
        {
            received.Add(DateTime.UtcNow.Ticks);
            produced.Add(producedAt);
        }
        Assert.Equal(3, produced.Count);
        // The first item arrived before the generator had produced the second: it was not buffered to the end.
        Assert.True(received[0] < produced[1], $"first item received at {received[0]}, second produced at {produced[1]}");
    }

    [Fact]
    public async Task RemoteGen_yields_the_items_before_a_failure_then_throws_it()
    {
        var items = new List<int>();
        var exception = await Assert.ThrowsAsync<RemoteFunctionException>(async () =>
        {
            await foreach (var item in StreamingFunctions.Functions.CountThenFail.RemoteGen(3))
            {
                items.Add(item);
            }
        });
        Assert.Equal([0, 1, 2], items);
        Assert.Equal("Failed after 3 items.", exception.RemoteMessage);
    }

    [Fact]
    public async Task RemoteGen_stops_the_generator_when_the_caller_stops_reading()
    {
        int read = 0;
        await foreach (var item in StreamingFunctions.Functions.Count.RemoteGen(1_000_000))
        {
            if (++read == 3)
            {
                break;
            }
        }
        Assert.Equal(3, read);
    }
}
