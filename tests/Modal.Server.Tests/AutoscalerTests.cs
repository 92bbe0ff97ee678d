using Modal.Api;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

public sealed class AutoscalerTests
{
    private static async Task<int> WaitForRunnersAsync(TestServer server, string functionId, Func<int, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(8);
        int runners;
        do
        {
            runners = (await server.Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = functionId })).NumTotalRunners;
            if (done(runners))
            {
                return runners;
            }
            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        return runners;
    }

    [Fact]
    public async Task The_autoscaler_never_exceeds_max_containers()
    {
        var spec = Payloads.Spec();
        spec.MaxContainers = 2;
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(spec, launch: true);
        var request = new FunctionMapRequest { FunctionId = functionId };
        request.PipelinedInputs.AddRange(Enumerable.Range(0, 10).Select(i => Payloads.Input(i, i)));

        await server.Client.FunctionMapAsync(request);
        int runners = await WaitForRunnersAsync(server, functionId, r => r >= 2);
        await Task.Delay(600); // several autoscaler passes

        Assert.Equal(2, runners);
        Assert.Equal(2, server.Launcher.LaunchCount);
        var stats = await server.Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = functionId });
        Assert.Equal(10, stats.Backlog);
        Assert.Equal(2, stats.NumTotalRunners);
    }

    [Fact]
    public async Task The_total_container_cap_protects_the_machine()
    {
        // This test's workers measure no utilization: let them all start before any has, so that the cap is what holds them.
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { MaxTotalContainers = 3, ContainersBeforeUtilization = 100 });
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var request = new FunctionMapRequest { FunctionId = functionId };
        request.PipelinedInputs.AddRange(Enumerable.Range(0, 10).Select(i => Payloads.Input(i, i)));

        await server.Client.FunctionMapAsync(request);
        await WaitForRunnersAsync(server, functionId, r => r >= 3);
        await Task.Delay(600);

        Assert.Equal(3, server.Launcher.LaunchCount);
    }

    [Fact]
    public async Task At_the_total_cap_idle_containers_of_other_functions_make_room()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { MaxTotalContainers = 1 });
        var created = await server.Client.AppCreateAsync(new AppCreateRequest
        {
            Name = "crowded",
            Functions = { Payloads.Spec("First"), Payloads.Spec("Second") },
            Launch = new WorkerLaunchSpec { Executable = "/bin/sleep", Arguments = { "30" } },
        });
        var first = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = created.FunctionIds["First"], PipelinedInputs = { Payloads.Input(0, 1) },
        });
        var launched = await server.Launcher.NextAsync();
        await using var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
        await worker.HelloAsync();
        await worker.StartAsync();
        await worker.PutAsync((await worker.NextAsync()).Inputs.Single(), Payloads.Success(1));
        await server.WaitForOutputsAsync(first.FunctionCallId, 1);

        // First's container is idle but within its 60 s scaledown window; Second needs the only slot.
        await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = created.FunctionIds["Second"], PipelinedInputs = { Payloads.Input(0, 1) },
        });
        var second = await server.Launcher.NextAsync();

        Assert.Equal("Second", second.FunctionName);
        var stats = await server.Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = created.FunctionIds["First"] });
        Assert.Equal(0, stats.NumTotalRunners);
    }

    [Fact]
    public async Task Keep_warm_starts_containers_and_idle_ones_scale_to_zero_after_the_window()
    {
        var spec = Payloads.Spec();
        spec.ScaledownWindowSeconds = 1;
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(spec, launch: true);
        Assert.Equal(0, await WaitForRunnersAsync(server, functionId, r => r == 0));

        await server.Client.FunctionUpdateKeepWarmAsync(new FunctionUpdateKeepWarmRequest { FunctionId = functionId, WarmPoolSize = 1 });
        var launched = await server.Launcher.NextAsync();
        await using var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
        await worker.StartAsync();
        Assert.Equal(1, await WaitForRunnersAsync(server, functionId, r => r == 1));

        await server.Client.FunctionUpdateKeepWarmAsync(new FunctionUpdateKeepWarmRequest { FunctionId = functionId, WarmPoolSize = 0 });
        Assert.Equal(0, await WaitForRunnersAsync(server, functionId, r => r == 0));
        // The worker's input stream ends: the signal to exit.
        using var drained = new CancellationTokenSource(TimeSpan.FromSeconds(8));
        await foreach (var _ in worker.Assignments.Reader.ReadAllAsync(drained.Token))
        {
        }
        await server.Launcher.Handles[launched.ContainerId].StopAsync(); // a real worker exits by itself here
        await Task.Delay(300);
        Assert.Equal(1, server.Launcher.LaunchCount);
    }

    [Fact]
    public async Task A_container_that_exits_is_replaced_and_its_input_retried()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 4) } });
        var first = await server.Launcher.NextAsync();
        await using (var worker = server.Worker(first.ContainerId, first.ContainerToken))
        {
            await worker.HelloAsync();
            await worker.StartAsync();
            var input = (await worker.NextAsync()).Inputs.Single();
            Assert.Equal(1, input.Attempt);
            await server.Launcher.Handles[first.ContainerId].StopAsync(); // the process dies
        }

        var second = await server.Launcher.NextAsync();
        await using var replacement = server.Worker(second.ContainerId, second.ContainerToken);
        await replacement.StartAsync();
        var retried = (await replacement.NextAsync()).Inputs.Single();
        await replacement.PutAsync(retried, Payloads.Success(16));
        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 1);

        Assert.Equal(2, retried.Attempt);
        Assert.Equal(16, Payloads.Value(outputs.Outputs.Single().Result));
    }

    [Fact]
    public async Task Inputs_fail_after_too_many_container_failures()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { InternalFailureRetries = 1 });
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 4) } });
        for (int attempt = 1; attempt <= 2; attempt++)
        {
            var launched = await server.Launcher.NextAsync();
            await using var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
            await worker.HelloAsync();
            await worker.StartAsync();
            Assert.Equal(attempt, (await worker.NextAsync()).Inputs.Single().Attempt);
            await server.Launcher.Handles[launched.ContainerId].StopAsync();
        }

        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 1);

        var result = outputs.Outputs.Single().Result;
        Assert.Equal(InputStatus.Failure, result.Status);
        Assert.Equal("Modal.ContainerFailure", result.ExceptionType);
    }

    [Theory]
    [InlineData("/nonexistent/worker")]
    [InlineData("/bin/false")]
    public async Task Workers_that_cannot_start_fail_the_queued_inputs_instead_of_hanging(string executable)
    {
        await using var server = await TestServer.StartAsync();
        var created = await server.Client.AppCreateAsync(new AppCreateRequest
        {
            Name = "broken",
            Functions = { Payloads.Spec() },
            Launch = new WorkerLaunchSpec { Executable = executable },
        });
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = created.FunctionIds["Square"], PipelinedInputs = { Payloads.Input(0, 1) },
        });

        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 1, TimeSpan.FromSeconds(15));

        var result = outputs.Outputs.Single().Result;
        Assert.Equal(InputStatus.InitFailure, result.Status);
        Assert.Contains("failed to start", result.ExceptionMessage);
    }
}
