using Google.Protobuf;
using Modal.Api;
using Modal.Server.Launching;
using Modal.Server.Scheduling;
using Modal.Server.Store;

namespace Modal.Server.Tests;

/// <summary>The autoscaler's plan, a pure function of the store's load and containers.</summary>
public sealed class AutoscalerPlanTests
{
    private static readonly byte[] s_launch = new WorkerLaunchSpec { Executable = "/usr/bin/dotnet" }.ToByteArray();

    private static FunctionLoad Load(string functionId, long ready, int maxContainers = 0) => new(
        functionId, "ap-1", "app", AppKind: 0,
        new FunctionSpec { Name = functionId, MaxInputs = 1, MaxContainers = maxContainers, ScaledownWindowSeconds = 60 }.ToByteArray(),
        s_launch, WarmPool: 0, ready, Running: 0, DelayedDueInMs: 0, StartupFailures: 0, LastStartupError: null, OldestReadyAgeMs: 0);

    private static ContainerRow Container(string id, string functionId, bool saidHello) => new(
        id, functionId, "ap-1", [], "running", "rp-1", saidHello, StopRequested: false, KillRequested: false, 0, 0, Running: saidHello ? 1 : 0);

    private static int Launches(ScalePlan plan) => plan.Launches.Sum(l => l.Count);

    /// <summary>No resource limit, at most <paramref name="count"/> containers.</summary>
    private static Placement Containers(int count) => new(LauncherCapacity.Unbounded("a test"), count);

    [Fact]
    public void A_backlog_launches_up_to_the_total_cap_when_starts_are_not_limited()
    {
        var plan = Autoscaler.Plan([Load("fu-a", ready: 2_000)], [], 0, Containers(32), maxStarting: 100, _ => true);
        Assert.Equal(32, Launches(plan));
    }

    [Fact]
    public void No_more_containers_start_at_once_than_the_start_limit_allows()
    {
        var plan = Autoscaler.Plan([Load("fu-a", ready: 2_000)], [], 0, Containers(32), maxStarting: 2, _ => true);
        Assert.Equal(2, Launches(plan));
    }

    [Fact]
    public void Containers_still_starting_count_against_the_start_limit_and_connected_ones_do_not()
    {
        ContainerRow[] containers =
        [
            Container("ct-1", "fu-a", saidHello: true),
            Container("ct-2", "fu-a", saidHello: true),
            Container("ct-3", "fu-a", saidHello: false),
        ];
        var plan = Autoscaler.Plan([Load("fu-a", ready: 2_000)], containers, 0, Containers(32), maxStarting: 2, _ => true);
        Assert.Equal(1, Launches(plan));

        var full = Autoscaler.Plan([Load("fu-a", ready: 2_000)], [.. containers, Container("ct-4", "fu-a", saidHello: false)], 0,
            Containers(32), maxStarting: 2, _ => true);
        Assert.Empty(full.Launches);
        Assert.Empty(full.Stops); // Nothing idle is stopped to make room for a launch that cannot happen.
    }

    [Fact]
    public void The_start_limit_is_shared_by_every_function()
    {
        var plan = Autoscaler.Plan([Load("fu-a", ready: 100), Load("fu-b", ready: 100)], [], 0, Containers(32), maxStarting: 3, _ => true);
        Assert.Equal(3, Launches(plan));
    }

    [Fact]
    public void A_function_in_launch_backoff_leaves_the_start_room_to_the_others()
    {
        var plan = Autoscaler.Plan([Load("fu-a", ready: 100), Load("fu-b", ready: 100)], [], 0, Containers(32), maxStarting: 3,
            functionId => functionId != "fu-a");
        var launch = Assert.Single(plan.Launches);
        Assert.Equal("fu-b", launch.Function.FunctionId);
        Assert.Equal(3, launch.Count);
    }

    [Fact]
    public void Max_containers_caps_the_launches_of_one_function()
    {
        var plan = Autoscaler.Plan([Load("fu-a", ready: 2_000, maxContainers: 3)], [], 0, Containers(32), maxStarting: 100, _ => true);
        Assert.Equal(3, Launches(plan));
    }

    [Fact]
    public void A_superseded_version_gets_containers_for_its_remaining_work_only_and_stops_them_once_idle()
    {
        var spec = new FunctionSpec { Name = "Square", MaxInputs = 1, MinContainers = 2, BufferContainers = 3, ScaledownWindowSeconds = 600 }.ToByteArray();
        FunctionLoad Version(string functionId, long ready, bool superseded) => new(
            functionId, "ap-1", "app", AppKind: 1, spec, s_launch, WarmPool: 4, ready, Running: 0, DelayedDueInMs: 0, StartupFailures: 0,
            LastStartupError: null, OldestReadyAgeMs: 0, Superseded: superseded);
        var idle = new ContainerRow("ct-old", "fu-v1", "ap-1", [], "running", "rp-1", SaidHello: true, StopRequested: false, KillRequested: false,
            0, IdleSinceUnixMs: 1_000, Running: 0);

        var draining = Autoscaler.Plan([Version("fu-v1", ready: 2, superseded: true)], [], 1_000, Containers(32), 100, _ => true);
        var drained = Autoscaler.Plan([Version("fu-v1", ready: 0, superseded: true)], [idle], 1_000, Containers(32), 100, _ => true);
        var current = Autoscaler.Plan([Version("fu-v2", ready: 0, superseded: false)], [], 1_000, Containers(32), 100, _ => true);

        Assert.Equal(2, Launches(draining)); // one per input: no minimum, buffer or warm pool
        Assert.Equal([("ct-old", "idle, and a newer version of its app was deployed")], drained.Stops);
        Assert.Equal(4, Launches(current)); // the newest version keeps its warm pool
    }

    [Fact]
    public async Task A_start_limit_below_one_is_refused_when_the_control_plane_starts()
    {
        var exception = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => ControlPlane.StartAsync(new ControlPlaneOptions { MaxStartingContainers = 0 }));
        Assert.Contains("MaxStartingContainers is 0", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Give it 1 or more", exception.Message, StringComparison.Ordinal);
    }
}
