using Google.Protobuf;
using Modal.Api;
using Modal.Server.Launching;
using Modal.Server.Scheduling;
using Modal.Server.Store;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

/// <summary>
/// Containers are added for a backlog only while they would raise throughput: up to the launcher's count before any
/// container has measured its slots' utilization, then only while the measured ones are busy.
/// </summary>
public sealed class AutoscalerUtilizationTests
{
    private static readonly byte[] s_launch = new WorkerLaunchSpec { Executable = "/usr/bin/dotnet" }.ToByteArray();

    private static FunctionLoad Load(long ready, int minContainers = 0, int bufferContainers = 0) => new(
        "fu-a", "ap-1", "app", AppKind: 0,
        new FunctionSpec { Name = "Work", MaxInputs = 1, ScaledownWindowSeconds = 60, MinContainers = minContainers, BufferContainers = bufferContainers }
            .ToByteArray(),
        s_launch, WarmPool: 0, ready, Running: 0, DelayedDueInMs: 0, StartupFailures: 0, LastStartupError: null, OldestReadyAgeMs: 0);

    private static ContainerRow Container(string id, bool saidHello = true, double? utilization = null) => new(
        id, "fu-a", "ap-1", [], "running", "rp-1", saidHello, StopRequested: false, KillRequested: false, 0, 0, Running: saidHello ? 1 : 0,
        utilization);

    /// <summary>32 containers at most, of which <paramref name="beforeUtilization"/> before any measure.</summary>
    private static Placement Placement(int beforeUtilization) =>
        new(LauncherCapacity.Unbounded("a test") with { ContainersBeforeUtilization = beforeUtilization }, 32);

    private static int Launches(FunctionLoad load, Placement placement, params ContainerRow[] containers) =>
        Autoscaler.Plan([load], containers, 0, placement, maxStarting: 100, _ => true).Launches.Sum(l => l.Count);

    [Fact]
    public void A_backlog_gets_the_launchers_count_of_containers_before_any_has_measured_its_utilization()
    {
        Assert.Equal(2, Launches(Load(ready: 2_000), Placement(beforeUtilization: 2)));
        // Started but not yet connected, or connected without a measure: still unmeasured, so no more.
        Assert.Equal(0, Launches(Load(ready: 2_000), Placement(2), Container("ct-1", saidHello: false), Container("ct-2")));
    }

    [Fact]
    public void Containers_that_mostly_wait_for_their_next_input_get_no_more_company()
    {
        Assert.Equal(0, Launches(Load(ready: 2_000), Placement(2), Container("ct-1", utilization: 0.04), Container("ct-2", utilization: 0.1)));
    }

    [Fact]
    public void Busy_containers_get_what_the_backlog_asks_for()
    {
        Assert.Equal(30, Launches(Load(ready: 2_000), Placement(2), Container("ct-1", utilization: 0.97), Container("ct-2", utilization: 0.9)));
        // The mean decides: one busy and one idle container are half busy, which is busy enough.
        Assert.Equal(30, Launches(Load(ready: 2_000), Placement(2), Container("ct-1", utilization: 1), Container("ct-2", utilization: 0)));
        Assert.Equal(0, Launches(Load(ready: 2_000), Placement(2), Container("ct-1", utilization: 0.9), Container("ct-2", utilization: 0)));
    }

    [Fact]
    public void A_backlog_smaller_than_the_first_count_gets_one_container_per_input()
    {
        Assert.Equal(3, Launches(Load(ready: 3), Placement(8)));
    }

    [Fact]
    public void Min_containers_and_the_buffer_are_kept_whatever_the_utilization()
    {
        Assert.Equal(3, Launches(Load(ready: 2_000, minContainers: 5), Placement(2), Container("ct-1", utilization: 0.01), Container("ct-2", utilization: 0.01)));
        // The buffer comes on top of the containers the work is given.
        Assert.Equal(1, Launches(Load(ready: 2_000, bufferContainers: 1), Placement(2), Container("ct-1", utilization: 0.01), Container("ct-2", utilization: 0.01)));
    }

    [Fact]
    public void A_launcher_without_a_count_scales_by_the_backlog_alone()
    {
        Assert.Equal(32, Launches(Load(ready: 2_000), new Placement(LauncherCapacity.Unbounded("a cluster"), 32)));
    }

    [Fact]
    public void This_machines_count_is_its_cores_and_the_option_replaces_it()
    {
        Assert.Equal(Math.Max(1, Environment.ProcessorCount), LauncherCapacity.ThisMachine().ContainersBeforeUtilization);
        var placement = Scheduling.Placement.For(new RecordingLauncher(), new ControlPlaneOptions { ContainersBeforeUtilization = 3 });
        Assert.Equal(3, placement.Capacity.ContainersBeforeUtilization);
    }

    [Fact]
    public void A_count_below_one_is_refused_with_the_option_and_the_fix()
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(
            () => Scheduling.Placement.CheckOptions(new ControlPlaneOptions { ContainersBeforeUtilization = 0 }));
        Assert.Contains("ContainersBeforeUtilization is 0", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Give it 1 or more", exception.Message, StringComparison.Ordinal);
    }
}
