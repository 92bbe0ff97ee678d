using Google.Protobuf;
using Modal.Api;
using Modal.Server.Launching;
using Modal.Server.Scheduling;
using Modal.Server.Store;

namespace Modal.Server.Tests;

/// <summary>Admission by resources in the autoscaler's plan: requests fit the capacity, the rest wait, released capacity admits them, fairly.</summary>
public sealed class PlacementPlanTests
{
    private static readonly byte[] s_launch = new WorkerLaunchSpec { Executable = "/usr/bin/dotnet" }.ToByteArray();

    private static FunctionLoad Load(string functionId, long ready, double cpu = 0, int memoryMb = 0, long oldestReadyAgeMs = 0) => new(
        functionId, "ap-1", "app", AppKind: 0,
        new FunctionSpec { Name = functionId, MaxInputs = 1, ScaledownWindowSeconds = 60, Cpu = cpu, MemoryMb = memoryMb }.ToByteArray(),
        s_launch, WarmPool: 0, ready, Running: 0, DelayedDueInMs: 0, StartupFailures: 0, LastStartupError: null, oldestReadyAgeMs);

    private static ContainerRow Busy(string id, string functionId, bool stopRequested = false) => new(
        id, functionId, "ap-1", [], "running", "rp-1", SaidHello: true, stopRequested, KillRequested: false, 0, 0, Running: 1);

    private static ContainerRow Idle(string id, string functionId) => new(
        id, functionId, "ap-1", [], "running", "rp-1", SaidHello: true, StopRequested: false, KillRequested: false, 0, IdleSinceUnixMs: 0, Running: 0);

    private static Placement Capacity(double cores, double memoryMb = 1_000_000, int gpus = 0) =>
        new(new LauncherCapacity(cores, memoryMb, gpus, "a test machine"), int.MaxValue);

    private static ScalePlan Plan(Placement placement, IReadOnlyList<FunctionLoad> functions, params ContainerRow[] containers) =>
        Autoscaler.Plan(functions, containers, nowMs: 1_000, placement, maxStarting: 100, _ => true);

    private static int LaunchesOf(ScalePlan plan, string functionId) => plan.Launches.Where(l => l.Function.FunctionId == functionId).Sum(l => l.Count);

    [Fact]
    public void A_backlog_gets_as_many_containers_as_their_default_requests_fit_and_the_rest_waits()
    {
        // Half a core: four containers of the default 0.125 cores, whatever the backlog.
        var plan = Plan(Capacity(0.5), [Load("fu-a", ready: 2_000)]);

        Assert.Equal(4, LaunchesOf(plan, "fu-a"));
        Assert.Empty(plan.Stops);
    }

    [Fact]
    public void Memory_requests_bound_placement_as_cores_do()
    {
        var plan = Plan(Capacity(cores: 64, memoryMb: 1_000), [Load("fu-a", ready: 100, cpu: 0.25, memoryMb: 300)]);

        Assert.Equal(3, LaunchesOf(plan, "fu-a"));
    }

    [Fact]
    public void Running_and_stopping_containers_hold_their_requests_until_they_end_and_the_release_admits_a_queued_one()
    {
        var load = new[] { Load("fu-a", ready: 100) };
        ContainerRow[] running = [Busy("ct-1", "fu-a"), Busy("ct-2", "fu-a"), Busy("ct-3", "fu-a")];

        var full = Plan(Capacity(0.5), load, [.. running, Busy("ct-4", "fu-a", stopRequested: true)]);
        var released = Plan(Capacity(0.5), load, running);

        Assert.Equal(0, LaunchesOf(full, "fu-a")); // the stopping container's process still runs
        Assert.Equal(1, LaunchesOf(released, "fu-a"));
    }

    [Fact]
    public void Capacity_is_shared_fairly_between_functions_with_backlogs()
    {
        var plan = Plan(Capacity(1), [Load("fu-a", ready: 2_000), Load("fu-b", ready: 2_000)]);

        Assert.Equal(4, LaunchesOf(plan, "fu-a"));
        Assert.Equal(4, LaunchesOf(plan, "fu-b"));
    }

    [Fact]
    public void Freed_capacity_goes_first_to_the_function_with_the_fewest_containers()
    {
        var plan = Plan(Capacity(0.5), [Load("fu-a", ready: 2_000), Load("fu-b", ready: 1)], Busy("ct-1", "fu-a"), Busy("ct-2", "fu-a"), Busy("ct-3", "fu-a"));

        Assert.Equal(1, LaunchesOf(plan, "fu-b"));
        Assert.Equal(0, LaunchesOf(plan, "fu-a"));
    }

    [Fact]
    public void A_map_holding_all_the_capacity_gives_up_one_busy_container_for_another_functions_first_and_no_more()
    {
        var load = new[] { Load("fu-map", ready: 2_000), Load("fu-call", ready: 1) };
        ContainerRow[] map = [Busy("ct-1", "fu-map"), Busy("ct-2", "fu-map"), Busy("ct-3", "fu-map"), Busy("ct-4", "fu-map")];

        var first = Plan(Capacity(0.5), load, map);
        var (stopped, reason) = Assert.Single(first.Stops);
        var whileItStops = Plan(Capacity(0.5), load, [.. map.Select(c => c.Id == stopped ? c with { StopRequested = true } : c)]);
        var afterItEnded = Plan(Capacity(0.5), load, [.. map.Where(c => c.Id != stopped)]);

        Assert.Empty(first.Launches);
        Assert.Equal("making room for the first container of fu-call", reason);
        Assert.Empty(whileItStops.Stops); // the release on its way is claimed: no second container is stopped
        Assert.Empty(whileItStops.Launches);
        Assert.Equal(1, LaunchesOf(afterItEnded, "fu-call"));
        Assert.Equal(0, LaunchesOf(afterItEnded, "fu-map"));
    }

    [Fact]
    public void Idle_containers_of_a_function_without_work_make_room_and_busy_ones_of_a_function_with_one_container_do_not()
    {
        var plan = Plan(Capacity(0.25), [Load("fu-idle", ready: 0), Load("fu-new", ready: 5)], Idle("ct-1", "fu-idle"), Idle("ct-2", "fu-idle"));
        var single = Plan(Capacity(0.125), [Load("fu-busy", ready: 5), Load("fu-new", ready: 5)], Busy("ct-1", "fu-busy"));

        Assert.Equal(2, plan.Stops.Count);
        Assert.All(plan.Stops, stop => Assert.Equal("idle, making room for a container of fu-new", stop.Reason));
        Assert.Empty(single.Stops); // taking its only container would only move the starvation
    }

    [Fact]
    public void A_function_larger_than_the_whole_capacity_takes_no_place_from_others()
    {
        var plan = Plan(Capacity(0.5), [Load("fu-small", ready: 100), Load("fu-huge", ready: 1, cpu: 4)], Busy("ct-1", "fu-small"), Busy("ct-2", "fu-small"));

        Assert.Empty(plan.Stops);
        Assert.Equal(0, LaunchesOf(plan, "fu-huge"));
        Assert.Equal(2, LaunchesOf(plan, "fu-small"));
    }

    [Fact]
    public void A_first_container_too_large_for_what_is_free_holds_it_and_busy_containers_stop_until_it_fits()
    {
        var load = new[] { Load("fu-small", ready: 100), Load("fu-big", ready: 1, cpu: 0.75) };
        ContainerRow[] small = [Busy("ct-1", "fu-small"), Busy("ct-2", "fu-small"), Busy("ct-3", "fu-small"), Busy("ct-4", "fu-small")];

        var first = Plan(Capacity(1), load, small);
        var afterTheyEnded = Plan(Capacity(1), load, [.. small.Where(c => !first.Stops.Any(s => s.ContainerId == c.Id))]);

        Assert.Equal(2, first.Stops.Count); // 0.5 cores free and 2 × 0.125 released: the 0.75 it asks
        Assert.Empty(first.Launches); // the free half core is held for fu-big, not taken by fu-small
        Assert.Equal(1, LaunchesOf(afterTheyEnded, "fu-big"));
        Assert.Equal(0, LaunchesOf(afterTheyEnded, "fu-small"));
    }

    [Fact]
    public void A_further_container_that_does_not_fit_lets_smaller_requests_take_what_is_left()
    {
        var plan = Plan(Capacity(1.5), [Load("fu-big", ready: 5, cpu: 0.75), Load("fu-small", ready: 5)],
            Busy("ct-1", "fu-big"), Busy("ct-2", "fu-small"), Busy("ct-3", "fu-small"));

        Assert.Equal(0, LaunchesOf(plan, "fu-big"));
        Assert.Equal(3, LaunchesOf(plan, "fu-small")); // 0.5 cores left: fu-big's 0.75 waits, fu-small's 0.125s fit
        Assert.Empty(plan.Stops);
    }
}
