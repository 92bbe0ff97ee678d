using Google.Protobuf;
using Modal.Api;
using Modal.Server.Scheduling;
using Modal.Server.Store;

namespace Modal.Server.Tests;

/// <summary>What the autoscaler's plan makes of FunctionUpdateAutoscaler's settings and of a variant's target inputs.</summary>
public sealed class AutoscalerSettingsTests
{
    private static FunctionLoad Load(FunctionSpec spec, long ready) => new(
        "fu-a", "ap-1", "app", AppKind: 0, spec.ToByteArray(), new WorkerLaunchSpec { Executable = "/usr/bin/dotnet" }.ToByteArray(),
        WarmPool: 0, ready, Running: 0, DelayedDueInMs: 0, StartupFailures: 0, LastStartupError: null, OldestReadyAgeMs: 0);

    private static int Launches(FunctionLoad function) =>
        Autoscaler.Plan([function], [], 0, maxTotalContainers: 100, maxStarting: 100, _ => true).Launches.Sum(l => l.Count);

    [Fact]
    public void Updated_settings_replace_the_specs_minimum_and_maximum()
    {
        var spec = new FunctionSpec { Name = "a", MaxInputs = 1, MaxContainers = 10 };

        Assert.Equal(0, Launches(Load(spec, ready: 0)));
        Assert.Equal(2, Launches(Load(spec, ready: 0) with { Autoscaler = new AutoscalerOverride(2, null, null, null) }));
        Assert.Equal(10, Launches(Load(spec, ready: 50)));
        Assert.Equal(3, Launches(Load(spec, ready: 50) with { Autoscaler = new AutoscalerOverride(null, 3, null, null) }));
    }

    [Fact]
    public void Target_inputs_below_the_maximum_ask_for_more_containers()
    {
        var spec = new FunctionSpec { Name = "a", MaxInputs = 4 };

        Assert.Equal(2, Launches(Load(spec, ready: 8)));
        spec.TargetInputs = 2;
        Assert.Equal(4, Launches(Load(spec, ready: 8)));
    }
}
