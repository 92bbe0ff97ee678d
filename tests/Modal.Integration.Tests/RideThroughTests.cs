using Modal.Integration;

namespace Modal.Integration.Tests;

/// <summary>
/// A client riding out a control plane that is down, restarted or one of several: real server processes on loopback
/// with a SQLite file, real worker processes. Each test runs its own app, so these run apart from the shared fixture.
/// </summary>
[Collection(RideThroughCollection.Name)]
public sealed class RideThroughTests : IDisposable
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(90);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "modal-ride-through", Guid.NewGuid().ToString("N"));

    public RideThroughTests() => Directory.CreateDirectory(_directory);

    private string Database => Path.Combine(_directory, "modal.db");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A worker may still hold a file; the temp directory is cleaned up later.
        }
    }

    private static Task<ModalApp> RunAppAsync(string serverUrl)
        => ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = serverUrl, RetryWindow = s_patience });

    private static async Task<T> WithinAsync<T>(Task<T> task, TimeSpan limit, string what)
    {
        var finished = await Task.WhenAny(task, Task.Delay(limit));
        Assert.True(finished == task, $"{what} did not happen within {limit.TotalSeconds} s.");
        return await task;
    }

    [Fact]
    public async Task ModalApp_started_while_the_server_is_not_up_yet_waits_for_it()
    {
        var port = ServerProcess.FreePort();
        var starting = RunAppAsync($"http://127.0.0.1:{port}");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(starting.IsCompleted, "RunAsync finished while no server was listening.");

        await using var server = await ServerProcess.StartOnPortAsync(port, "--db", Database);
        await using var app = await WithinAsync(starting, s_patience, "RunAsync after the server started");

        Assert.Equal(42, await WithinAsync(IntegrationFunctions.Functions.SlowAdd.RemoteAsync(20, 22), s_patience, "A call"));
    }

    [Fact]
    public async Task A_RemoteAsync_issued_while_the_server_is_down_succeeds_once_it_is_back_two_seconds_later()
    {
        var server = await ServerProcess.StartAsync("--db", Database);
        ServerProcess? restarted = null;
        try
        {
            await using var app = await RunAppAsync(server.Url);
            Assert.Equal(3, await WithinAsync(IntegrationFunctions.Functions.SlowAdd.RemoteAsync(1, 2), s_patience, "The first call"));

            server.Kill();
            var call = IntegrationFunctions.Functions.SlowAdd.RemoteAsync(20, 22);
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.False(call.IsCompleted, "The call finished while the server was down.");
            restarted = await server.RestartAsync();

            Assert.Equal(42, await WithinAsync(call, s_patience, "The call issued while the server was down"));
        }
        finally
        {
            await server.DisposeAsync();
            if (restarted is not null)
            {
                await restarted.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_map_completes_with_every_output_once_when_the_server_is_SIGKILLed_and_restarted_mid_way()
    {
        const int count = 300;
        var server = await ServerProcess.StartAsync("--db", Database);
        Task<ServerProcess>? restarting = null;
        try
        {
            await using var app = await RunAppAsync(server.Url);
            var outputs = new List<int>();
            var map = Task.Run(async () =>
            {
                await foreach (var output in IntegrationFunctions.Functions.SlowIdentity.Map(Enumerable.Range(0, count)))
                {
                    outputs.Add(output);
                    if (outputs.Count == count / 3)
                    {
                        server.Kill();
                        restarting = Task.Run(async () =>
                        {
                            await Task.Delay(TimeSpan.FromSeconds(1));
                            return await server.RestartAsync();
                        });
                    }
                }
                return outputs.Count;
            });

            await WithinAsync(map, TimeSpan.FromMinutes(3), "The map");
            Assert.NotNull(restarting);
            Assert.True(restarting.IsCompletedSuccessfully, "The map ended before the server was back: the kill was not mid-map.");
            Assert.Equal(Enumerable.Range(0, count), outputs);
        }
        finally
        {
            await server.DisposeAsync();
            if (restarting is not null)
            {
                await (await restarting).DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_server_url_list_whose_first_replica_is_dead_is_served_by_the_live_one()
    {
        await using var server = await ServerProcess.StartAsync("--db", Database);
        var dead = $"http://127.0.0.1:{ServerProcess.FreePort()}";

        await using var app = await RunAppAsync($"{dead},{server.Url}");

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(i + 1, await WithinAsync(IntegrationFunctions.Functions.SlowAdd.RemoteAsync(i, 1), s_patience, $"Call {i}"));
        }
        var outputs = new List<int>();
        await foreach (var output in IntegrationFunctions.Functions.SlowIdentity.Map(Enumerable.Range(0, 50)))
        {
            outputs.Add(output);
        }
        Assert.Equal(Enumerable.Range(0, 50), outputs);
    }
}

/// <summary>Tests that run their own app and servers; the assembly runs collections one at a time (one app per process).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RideThroughCollection
{
    public const string Name = "Modal ride-through";
}
