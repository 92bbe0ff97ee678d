using System.Runtime.CompilerServices;
using Modal.Conformance;
using Modal.InProcess;

namespace Modal.Runtime.Tests;

/// <summary>What a long-lived in-process app keeps: spawned calls' results and call graphs, within limits.</summary>
[Collection(AppLifetimeCollection.Name)]
public sealed class InProcessRetentionTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>Installs an in-process backend of the conformance app with <paramref name="options"/> until disposed.</summary>
    private static async Task<IAsyncDisposable> RunAsync(InProcessOptions options)
    {
        RuntimeHelpers.RunModuleConstructor(typeof(TestFunctions).Module.ModuleHandle);
        var backend = new InProcessBackend("conformance", options);
        var installation = ModalBackend.Install(backend);
        await Task.CompletedTask;
        return new Running(backend, installation);
    }

    private sealed class Running(InProcessBackend backend, IDisposable installation) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            installation.Dispose();
            await backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task Only_the_newest_finished_spawned_calls_are_kept_beyond_the_cap()
    {
        await using var app = await RunAsync(new InProcessOptions { MaxRetainedCalls = 3 });
        var calls = new List<FunctionCall<int>>();
        for (int i = 1; i <= 5; i++)
        {
            var call = await TestFunctions.Functions.Square.SpawnAsync(i);
            Assert.Equal(i * i, await call.GetAsync()); // finished in spawn order
            calls.Add(call);
        }
        await Assert.ThrowsAsync<NotFoundException>(() => FunctionCall.FromId<int>(calls[0].ObjectId).GetAsync());
        await Assert.ThrowsAsync<NotFoundException>(() => FunctionCall.FromId<int>(calls[1].ObjectId).GetAsync());
        int[] kept = await FunctionCall.GatherAsync(calls[2], calls[3], calls[4]);
        Assert.Equal([9, 16, 25], kept);
    }

    [Fact]
    public async Task A_finished_spawned_call_is_kept_for_the_retention_window_then_removed()
    {
        var time = new ManualTime();
        await using var app = await RunAsync(new InProcessOptions { TimeProvider = time });
        var call = await TestFunctions.Functions.Square.SpawnAsync(4);
        Assert.Equal(16, await call.GetAsync());
        time.Now += TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1);
        Assert.Equal(16, await FunctionCall.FromId<int>(call.ObjectId).GetAsync());
        time.Now += TimeSpan.FromSeconds(2);
        var exception = await Assert.ThrowsAsync<NotFoundException>(() => FunctionCall.FromId<int>(call.ObjectId).GetAsync());
        Assert.Contains("7 days", exception.Message);
    }

    [Fact]
    public async Task A_running_spawned_call_is_never_evicted()
    {
        var time = new ManualTime();
        await using var app = await RunAsync(new InProcessOptions { MaxRetainedCalls = 1, TimeProvider = time });
        var running = await TestFunctions.Functions.Sleep.SpawnAsync(30_000);
        for (int i = 0; i < 3; i++)
        {
            await (await TestFunctions.Functions.Square.SpawnAsync(i)).GetAsync();
        }
        time.Now += TimeSpan.FromDays(30);
        await Assert.ThrowsAsync<TimeoutException>(() => running.GetAsync(TimeSpan.Zero)); // still there, still running
        await running.CancelAsync();
        await Assert.ThrowsAsync<InputCancelledException>(() => running.GetAsync());
    }

    [Fact]
    public async Task A_spawned_call_graph_records_at_most_its_budget_however_many_calls_it_makes()
    {
        await using var app = await RunAsync(new InProcessOptions { MaxCallGraphEntries = 50 });
        var call = await TestFunctions.Functions.SumOfSquares.SpawnAsync(2_000);
        Assert.Equal(Enumerable.Range(0, 2_000).Sum(x => (long)x * x), await call.GetAsync());
        var root = Assert.Single(await call.GetCallGraphAsync());
        Assert.Equal(InputStatus.Success, root.Status);
        static int Count(InputInfo input) => 1 + input.Children.Sum(Count);
        Assert.InRange(Count(root), 2, 50);
    }

    [Fact]
    public async Task A_generator_call_ends_with_InputCancelledException_when_the_app_stops()
    {
        var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.InProcess });
        var items = StreamingFunctions.Functions.Timed.RemoteGen(100, 200).GetAsyncEnumerator();
        try
        {
            Assert.True(await items.MoveNextAsync());
            await app.DisposeAsync();
            await Assert.ThrowsAsync<InputCancelledException>(async () => await items.MoveNextAsync());
        }
        finally
        {
            await items.DisposeAsync();
            await app.DisposeAsync();
        }
    }
}
