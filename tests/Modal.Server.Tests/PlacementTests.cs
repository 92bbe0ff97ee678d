using Grpc.Core;
using Modal.Api;
using Modal.Server.Launching;
using Modal.Server.Scheduling;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

/// <summary>Placement by resources on a real control plane: the capacity it places in, what it refuses, and what a release admits.</summary>
public sealed class PlacementTests
{
    private static AppCreateRequest App(FunctionSpec spec, AppKind kind = AppKind.Ephemeral) => new()
    {
        Name = "placed-" + Guid.NewGuid().ToString("N")[..8],
        Kind = kind,
        Functions = { spec },
        Launch = new WorkerLaunchSpec { Executable = "/bin/sleep", Arguments = { "30" } },
    };

    [Fact]
    public async Task A_GPU_request_is_refused_at_deploy_when_the_launcher_has_no_GPUs()
    {
        await using var server = await TestServer.StartAsync();
        var spec = Payloads.Spec("Train");
        spec.Gpu = "A100:2";

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppCreateAsync(App(spec, AppKind.Deployed)).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("function 'Train' requests GPU 'A100:2'", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("which has no GPUs", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("Remove Gpu from the function's [Function] attribute", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await server.Client.AppListAsync(new AppListRequest())).Apps);
    }

    [Fact]
    public async Task A_request_larger_than_the_whole_capacity_is_refused_when_the_app_is_created()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { CapacityCpu = 1, CapacityMemoryMb = 4_096 });
        var tooManyCores = Payloads.Spec("Crunch");
        tooManyCores.Cpu = 2;
        var tooMuchMemory = Payloads.Spec("Hoard");
        tooMuchMemory.MemoryMb = 8_192;

        var cores = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppCreateAsync(App(tooManyCores)).ResponseAsync);
        var memory = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppCreateAsync(App(tooMuchMemory)).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, cores.StatusCode);
        Assert.Contains("function 'Crunch' requests 2 cores and 128 MiB per container", cores.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("1 cores, 4,096 MiB and no GPUs", cores.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("--capacity-cpu 1", cores.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("Lower the function's Cpu or MemoryMb", cores.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("function 'Hoard' requests 0.125 cores and 8,192 MiB per container (counted as 0.25 cores: a worker here costs at least that)",
            memory.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_local_worker_is_counted_as_at_least_a_quarter_core_and_a_pod_as_it_asks()
    {
        var local = new Modal.Server.Scheduling.Placement(Modal.Server.Launching.LauncherCapacity.ThisMachine(), int.MaxValue);
        var cluster = new Modal.Server.Scheduling.Placement(Modal.Server.Launching.LauncherCapacity.Unbounded("a cluster"), 32);
        var small = Payloads.Spec();
        small.Cpu = 0.125;
        var large = Payloads.Spec();
        large.Cpu = 1.5;

        Assert.Equal((0.25, 0.125), (local.AdmittedRequestOf(small).Cpu, cluster.AdmittedRequestOf(small).Cpu));
        Assert.Equal((1.5, 1.5), (local.AdmittedRequestOf(large).Cpu, cluster.AdmittedRequestOf(large).Cpu));
        Assert.Equal(0.125, Modal.Server.Scheduling.Placement.RequestOf(small).Cpu); // its limit stays what it asks
    }

    [Fact]
    public async Task A_malformed_GPU_is_refused_with_the_form_it_must_take()
    {
        await using var server = await TestServer.StartAsync();
        var spec = Payloads.Spec("Train");
        spec.Gpu = "A100:lots";

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppCreateAsync(App(spec)).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("GPU 'A100:lots' is not TYPE or TYPE:COUNT", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workers_past_the_capacity_wait_and_one_that_exits_lets_the_next_start()
    {
        // Half a core: two containers of the default 0.125 cores, each counted as a local worker's floor of 0.25 cores.
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { CapacityCpu = 0.5 });
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var request = new FunctionMapRequest { FunctionId = functionId };
        request.PipelinedInputs.AddRange(Enumerable.Range(0, 10).Select(i => Payloads.Input(i, i)));

        await server.Client.FunctionMapAsync(request);
        var first = await server.Launcher.NextAsync();
        await server.Launcher.NextAsync();
        await Task.Delay(600); // several autoscaler passes
        Assert.Equal(2, server.Launcher.LaunchCount);
        Assert.Equal(0.125, first.Cpu); // its limit: the function's request (the default, as the spec gives none), not the floor
        Assert.Equal(128, first.MemoryMb);

        await server.Launcher.Handles[first.ContainerId].StopAsync(); // its process exits: its request is released

        var third = await server.Launcher.NextAsync();
        Assert.NotEqual(first.ContainerId, third.ContainerId);
        await Task.Delay(600);
        Assert.Equal(3, server.Launcher.LaunchCount);
    }

    [Fact]
    public void The_capacity_is_the_launchers_times_the_overcommit_unless_it_is_given()
    {
        var launcher = new LocalProcessLauncher();
        var machine = launcher.Capacity;

        var overcommitted = Placement.For(launcher, new ControlPlaneOptions { CpuOvercommit = 2, MemoryOvercommit = 0.5 });
        var explicitly = Placement.For(launcher, new ControlPlaneOptions { CpuOvercommit = 2, CapacityCpu = 0.5, CapacityMemoryMb = 1_024 });
        var cluster = Placement.For(LauncherUnbounded.Instance, new ControlPlaneOptions());

        Assert.Equal(Environment.ProcessorCount, machine.Cpu);
        Assert.True(machine.MemoryMb > 0);
        Assert.Equal(0, machine.Gpus);
        Assert.Equal((machine.Cpu * 2, machine.MemoryMb * 0.5), (overcommitted.Capacity.Cpu, overcommitted.Capacity.MemoryMb));
        Assert.EndsWith("with --cpu-overcommit 2, --memory-overcommit 0.5", overcommitted.Capacity.Description, StringComparison.Ordinal);
        Assert.Equal((0.5, 1_024.0), (explicitly.Capacity.Cpu, explicitly.Capacity.MemoryMb));
        Assert.Equal(int.MaxValue, overcommitted.MaxContainers); // resources decide, not a count
        Assert.Equal(ControlPlaneOptions.DefaultMaxContainersWhenUnbounded, cluster.MaxContainers); // nothing else would bound it
    }

    [Theory]
    [InlineData(nameof(ControlPlaneOptions.CpuOvercommit))]
    [InlineData(nameof(ControlPlaneOptions.CapacityMemoryMb))]
    public async Task A_capacity_setting_that_leaves_no_room_is_refused_when_the_control_plane_starts(string setting)
    {
        var options = setting == nameof(ControlPlaneOptions.CpuOvercommit)
            ? new ControlPlaneOptions { CpuOvercommit = 0 }
            : new ControlPlaneOptions { CapacityMemoryMb = -5 };

        var exception = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ControlPlane.StartAsync(options));

        Assert.Contains($"{setting} is ", exception.Message, StringComparison.Ordinal);
        Assert.Contains("must be a positive number", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_embedded_control_plane_reads_its_capacity_from_MODAL_variables_and_names_a_bad_one()
    {
        var variables = new Dictionary<string, string>
        {
            ["MODAL_CPU_OVERCOMMIT"] = "0.5", ["MODAL_MEMORY_OVERCOMMIT"] = "2", ["MODAL_CAPACITY_CPU"] = "3", ["MODAL_CAPACITY_MEMORY_MB"] = "2048",
        };

        var options = CapacityVariables.Apply(new ControlPlaneOptions(), name => variables.GetValueOrDefault(name));
        var unset = CapacityVariables.Apply(new ControlPlaneOptions(), _ => null);
        var bad = Assert.Throws<InvalidOperationException>(
            () => CapacityVariables.Apply(new ControlPlaneOptions(), name => name == "MODAL_CAPACITY_CPU" ? "two" : null));

        Assert.Equal((0.5, 2.0, 3.0, 2048.0), (options.CpuOvercommit, options.MemoryOvercommit, options.CapacityCpu, options.CapacityMemoryMb));
        Assert.Equal((1.0, 1.0, (double?)null, (double?)null), (unset.CpuOvercommit, unset.MemoryOvercommit, unset.CapacityCpu, unset.CapacityMemoryMb));
        Assert.Equal("MODAL_CAPACITY_CPU is 'two': give a positive number (for example 0.5 or 2), or unset it.", bad.Message);
    }

    /// <summary>A launcher for a cluster that admits workers itself; it is never asked to launch here.</summary>
    private sealed class LauncherUnbounded : IContainerLauncher
    {
        public static readonly LauncherUnbounded Instance = new();

        public LauncherCapacity Capacity { get; } = LauncherCapacity.Unbounded("a cluster");

        public Task<IContainerHandle> LaunchAsync(ContainerLaunchRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException("Not launched in this test.");
    }
}
