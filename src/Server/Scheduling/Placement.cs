using System.Globalization;
using Modal.Api;
using Modal.Server.Launching;
using Modal.Server.Services;

namespace Modal.Server.Scheduling;

/// <summary>
/// Where containers may go: the launcher's capacity after the control plane's overcommit or explicit capacity, and the
/// count limit. The autoscaler admits containers within it; <see cref="CheckPlaceable"/> refuses, when an app is created or
/// deployed, a function that could never be placed.
/// </summary>
internal sealed class Placement(LauncherCapacity capacity, int maxContainers)
{
    /// <summary>The capacity the control plane's containers share.</summary>
    public LauncherCapacity Capacity { get; } = capacity;

    /// <summary>The most containers at once, whatever their requests.</summary>
    public int MaxContainers { get; } = maxContainers;

    /// <summary>The launcher's capacity with <paramref name="options"/>' overcommit, or its explicit capacity, applied.</summary>
    public static Placement For(IContainerLauncher launcher, ControlPlaneOptions options)
    {
        var declared = launcher.Capacity;
        var capacity = declared with
        {
            Cpu = options.CapacityCpu ?? declared.Cpu * options.CpuOvercommit,
            MemoryMb = options.CapacityMemoryMb ?? declared.MemoryMb * options.MemoryOvercommit,
            Description = declared.Description + Settings(options),
            ContainersBeforeUtilization = options.ContainersBeforeUtilization ?? declared.ContainersBeforeUtilization,
        };
        bool unbounded = double.IsPositiveInfinity(capacity.Cpu) && double.IsPositiveInfinity(capacity.MemoryMb);
        return new Placement(capacity, options.MaxTotalContainers ?? (unbounded ? ControlPlaneOptions.DefaultMaxContainersWhenUnbounded : int.MaxValue));
    }

    /// <summary>Refuses settings that would leave no room for any container, naming the option and the fix.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An overcommit or capacity is not a positive number, or the count limit is below 1.</exception>
    public static void CheckOptions(ControlPlaneOptions options)
    {
        static void Positive(string name, double? value)
        {
            if (value is { } given && !(double.IsFinite(given) && given > 0))
            {
                throw new ArgumentOutOfRangeException(nameof(options), given,
                    $"{name} is {given.ToString(CultureInfo.InvariantCulture)}: it must be a positive number, or no container could ever start.");
            }
        }
        Positive(nameof(ControlPlaneOptions.CpuOvercommit), options.CpuOvercommit);
        Positive(nameof(ControlPlaneOptions.MemoryOvercommit), options.MemoryOvercommit);
        Positive(nameof(ControlPlaneOptions.CapacityCpu), options.CapacityCpu);
        Positive(nameof(ControlPlaneOptions.CapacityMemoryMb), options.CapacityMemoryMb);
        if (options.ContainersBeforeUtilization is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ContainersBeforeUtilization,
                $"{nameof(ControlPlaneOptions.ContainersBeforeUtilization)} is {options.ContainersBeforeUtilization}: a function with work could never get a container. Give it 1 or more, or null for the launcher's figure.");
        }
        if (options.MaxTotalContainers is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxTotalContainers,
                $"{nameof(ControlPlaneOptions.MaxTotalContainers)} is {options.MaxTotalContainers}: no container could ever start. Give it 1 or more, or null for no count limit.");
        }
    }

    private static string Settings(ControlPlaneOptions options)
    {
        var settings = new List<string>();
        if (options.CapacityCpu is { } cpu)
        {
            settings.Add(string.Create(CultureInfo.InvariantCulture, $"--capacity-cpu {cpu}"));
        }
        else if (options.CpuOvercommit != 1)
        {
            settings.Add(string.Create(CultureInfo.InvariantCulture, $"--cpu-overcommit {options.CpuOvercommit}"));
        }
        if (options.CapacityMemoryMb is { } memory)
        {
            settings.Add(string.Create(CultureInfo.InvariantCulture, $"--capacity-memory-mb {memory}"));
        }
        else if (options.MemoryOvercommit != 1)
        {
            settings.Add(string.Create(CultureInfo.InvariantCulture, $"--memory-overcommit {options.MemoryOvercommit}"));
        }
        return settings.Count == 0 ? "" : " with " + string.Join(", ", settings);
    }

    /// <summary>What a container of this function requests (its limits).</summary>
    public static ResourceRequest RequestOf(FunctionSpec spec) => ResourceRequest.Of(spec.Cpu, spec.MemoryMb, spec.Gpu);

    /// <summary>
    /// What a container of this function is counted as when it is admitted: its request, and at least the launcher's floor per
    /// container (<see cref="LauncherCapacity.CpuPerContainerFloor"/>).
    /// </summary>
    public ResourceRequest AdmittedRequestOf(FunctionSpec spec)
    {
        var request = RequestOf(spec);
        return request with { Cpu = Math.Max(request.Cpu, Capacity.CpuPerContainerFloor) };
    }

    /// <summary>
    /// Refuses (FAILED_PRECONDITION) a function whose containers could never start here: a GPU request on a launcher without
    /// GPUs, or a request larger than the whole capacity. The message names the function, what it asks, what there is, and
    /// the fix.
    /// </summary>
    public void CheckPlaceable(string appName, FunctionSpec spec)
    {
        if (ResourceRequest.GpuCount(spec.Gpu) is not { } gpus)
        {
            throw Errors.Invalid($"App '{appName}', function '{spec.Name}': GPU '{spec.Gpu}' is not TYPE or TYPE:COUNT with a count from 1 " +
                "to 64 (for example \"A100\" or \"A100:2\"). Fix the function's Gpu option.");
        }
        var request = AdmittedRequestOf(spec);
        if (gpus > 0 && Capacity.Gpus == 0)
        {
            throw Errors.FailedPrecondition($"App '{appName}', function '{spec.Name}' requests GPU '{spec.Gpu}', but this control plane " +
                $"runs workers on {Capacity.Description}, which has no GPUs, so its containers could never start. Remove Gpu from the " +
                "function's [Function] attribute (or its variant), or deploy to a control plane whose launcher has GPUs (--launcher kubernetes).");
        }
        if (!Capacity.Holds(request))
        {
            var asked = RequestOf(spec);
            string floor = request.Cpu > asked.Cpu
                ? string.Create(CultureInfo.InvariantCulture, $" (counted as {request.Cpu} cores: a worker here costs at least that)")
                : "";
            throw Errors.FailedPrecondition($"App '{appName}', function '{spec.Name}' requests {asked} per container{floor}, more than this " +
                $"control plane can place at all: {Capacity}. Its containers could never start. Lower the function's Cpu or MemoryMb, " +
                "or give the server more (--cpu-overcommit, --memory-overcommit, --capacity-cpu, --capacity-memory-mb).");
        }
    }
}
