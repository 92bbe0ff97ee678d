using System.Text.Json;
using Modal.Integration.Tests;

namespace Modal.Conformance.Tests;

/// <summary>
/// A standalone control plane with <c>--launcher podman</c> and the tests' loopback registry: the conformance app runs
/// ephemeral, the server builds its worker image from the uploaded build output (buildah) and runs every worker as a
/// container that reaches it over the Unix domain socket.
/// </summary>
public sealed class PodmanFixture() : ModalAppFixture(ModalMode.Remote)
{
    private ServerProcess? _server;

    protected override async Task BeforeStartAsync() => _server = await ServerProcess.StartAsync(
        "--launcher", "podman", "--registry", TestContainers.Registry, "--base-image", TestContainers.BaseImage);

    protected override ModalAppOptions CreateOptions() => base.CreateOptions() with { ServerUrl = _server!.Url };

    protected override async Task AfterStopAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        // Containers of a server that was killed are left to podman; none may outlive the tests.
        foreach (string container in await TestContainers.RunningAsync($"{Server.Launching.PodmanLauncher.ManagedByLabel}=modal-server", "dev.modal.app=" + AppName))
        {
            await TestContainers.RunAsync("podman", "rm", "--force", "--time", "0", container);
        }
    }
}

/// <summary>The conformance suite's core cases with every worker in a podman container.</summary>
[Collection(ConformanceCollection.Name)]
public sealed class PodmanConformanceTests(PodmanFixture fixture) : IClassFixture<PodmanFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task RemoteAsync_runs_in_a_container_with_no_network_a_read_only_root_and_the_functions_limits()
    {
        Assert.Equal(49, await TestFunctions.Functions.Square.RemoteAsync(7));
        string container = Assert.IsType<string>((await TestContainers.RunningAsync("dev.modal.app=conformance", "dev.modal.function=Square")).FirstOrDefault(),
            exactMatch: false);
        var (exitCode, output, errors) = await TestContainers.RunAsync("podman", "inspect", container);
        Assert.True(exitCode == 0, errors);
        var inspected = JsonDocument.Parse(output).RootElement[0];
        var host = inspected.GetProperty("HostConfig");
        Assert.True(host.GetProperty("ReadonlyRootfs").GetBoolean());
        Assert.Equal("none", host.GetProperty("NetworkMode").GetString());
        Assert.Equal(128L * 1024 * 1024, host.GetProperty("Memory").GetInt64()); // the function's MemoryMb
        Assert.Equal("65534:65534", inspected.GetProperty("Config").GetProperty("User").GetString());
        Assert.Contains(inspected.GetProperty("Mounts").EnumerateArray(), mount => mount.GetProperty("Destination").GetString() == "/run/modal");
        // The image the server built from the uploaded build output (pinned by digest), labelled with the app and its functions.
        Assert.Matches($"^{TestContainers.Registry}/modal-apps/conformance@sha256:[0-9a-f]{{64}}$", fixture.App.Image);
        Assert.Equal(fixture.App.Image, inspected.GetProperty("ImageName").GetString());
        var labels = inspected.GetProperty("Config").GetProperty("Labels");
        Assert.Equal("conformance", labels.GetProperty("dev.modal.app").GetString());
        Assert.Contains("Square(int x) -> int", labels.GetProperty("dev.modal.function.Square").GetString());
        // podman 4 shows the entrypoint as one string, later versions as an array.
        var entrypoint = inspected.GetProperty("Config").GetProperty("Entrypoint");
        Assert.Equal("dotnet /app/Modal.Conformance.Functions.dll", entrypoint.ValueKind == JsonValueKind.Array
            ? string.Join(' ', entrypoint.EnumerateArray().Select(part => part.GetString()))
            : entrypoint.GetString());
    }

    [Fact]
    public async Task Map_returns_outputs_in_input_order()
    {
        var values = Enumerable.Range(0, 8).ToArray();
        var delays = values.Select(value => (8 - value) * 40).ToArray();
        var outputs = new List<int>();
        await foreach (int output in TestFunctions.Functions.DelayedEcho.Map(values, delays))
        {
            outputs.Add(output);
        }
        Assert.Equal(values, outputs);
    }

    [Fact]
    public async Task SpawnAsync_then_GetAsync_returns_the_result()
        => Assert.Equal(144, await (await TestFunctions.Functions.Square.SpawnAsync(12)).GetAsync());

    [Fact]
    public async Task RemoteGen_yields_every_item_in_order()
    {
        var items = new List<int>();
        await foreach (int item in StreamingFunctions.Functions.Count.RemoteGen(50))
        {
            items.Add(item);
        }
        Assert.Equal(Enumerable.Range(0, 50), items);
    }

    [Fact]
    public async Task Timeout_fails_the_caller_even_when_the_function_ignores_its_token()
    {
        // A warm container first: a cold start may use up the 1 s timeout.
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await TestFunctions.Functions.IgnoresTimeout.RemoteAsync(0);
                break;
            }
            catch (FunctionTimeoutException) when (attempt < 5)
            {
            }
        }
        var started = DateTime.UtcNow;
        await Assert.ThrowsAsync<FunctionTimeoutException>(() => TestFunctions.Functions.IgnoresTimeout.RemoteAsync(30_000));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task CancelAsync_ends_a_running_input_as_terminated()
    {
        var call = await TestFunctions.Functions.Sleep.SpawnAsync(30_000);
        await Task.Delay(500);
        var started = DateTime.UtcNow;
        await call.CancelAsync();
        await Assert.ThrowsAsync<InputCancelledException>(() => call.GetAsync());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), "the cancelled 30 s input ran on");
        Assert.Equal(InputStatus.Terminated, Assert.Single(await call.GetCallGraphAsync()).Status);
    }

    [Fact]
    public async Task A_container_killed_mid_input_is_replaced_and_the_input_runs_again_to_its_result()
    {
        // Nap has one container at most: warm it, give it a 4 s input, and kill it with SIGKILL while the input runs.
        await TestFunctions.Functions.Nap.RemoteAsync(0);
        string killed = Assert.Single(await TestContainers.RunningAsync("dev.modal.app=conformance", "dev.modal.function=Nap"));
        var call = await TestFunctions.Functions.Nap.SpawnAsync(4_000);
        await Task.Delay(1_000);
        var killedAt = DateTime.UtcNow;
        var (exitCode, _, errors) = await TestContainers.RunAsync("podman", "kill", "--signal", "KILL", killed);
        Assert.True(exitCode == 0, errors);

        long finished = await call.GetAsync(Patience);
        // The input ran again in full on a new container, after the kill.
        Assert.True(new DateTime(finished, DateTimeKind.Utc) >= killedAt.AddSeconds(3.9), $"the input finished at {new DateTime(finished):O}, before a rerun could");
        string replacement = Assert.Single(await TestContainers.RunningAsync("dev.modal.app=conformance", "dev.modal.function=Nap"));
        Assert.NotEqual(killed, replacement);
    }
}
