using System.Globalization;

namespace Modal.Server.Launching;

/// <summary>
/// What a launcher can run at once. The control plane admits a container while the requests of the containers starting and
/// running (and stopping, until they have exited) fit within it, and queues the rest. A launcher declares what it manages
/// (<see cref="ThisMachine"/> for local processes and containers, <see cref="Unbounded"/> for a cluster with a scheduler of
/// its own); the control plane multiplies the cores and memory by its overcommit settings, or replaces them with an explicit
/// capacity (<see cref="ControlPlaneOptions.CapacityCpu"/>, <see cref="ControlPlaneOptions.CapacityMemoryMb"/>).
/// </summary>
/// <param name="Cpu">Cores (may be <see cref="double.PositiveInfinity"/>).</param>
/// <param name="MemoryMb">MiB (may be <see cref="double.PositiveInfinity"/>).</param>
/// <param name="Gpus">GPUs; 0 means none, and a function that asks for one is refused when its app is created or deployed.</param>
/// <param name="Description">Where the figures come from, for messages (for example <c>this machine (2 cores, 24,105 MiB)</c>).</param>
public sealed record LauncherCapacity(double Cpu, double MemoryMb, int Gpus, string Description)
{
    /// <summary>
    /// The cores a worker process on this machine costs at least, whatever its function requests: its own .NET runtime
    /// (start, JIT, its stream and heartbeat). Measured on a 2-core machine (bench/README, 2026-12-05), 16 workers admitted at
    /// the default 0.125 cores ran a trivial map at half the speed of 2; 8 (0.25 each) ran it as fast.
    /// </summary>
    public const double WorkerProcessCpuFloor = 0.25;

    /// <summary>
    /// What a container of this launcher is counted as at least, in cores, when it is admitted (<see cref="WorkerProcessCpuFloor"/>
    /// for local processes and containers; 0 for a cluster, whose scheduler counts for itself). Its limits stay what the
    /// function requests.
    /// </summary>
    public double CpuPerContainerFloor { get; init; }

    /// <summary>
    /// How many containers a function with a backlog may have before any of them has said how busy it keeps its input slots
    /// (its heartbeats measure it); past that, the autoscaler adds containers only while the function's containers are busy.
    /// This machine's cores for local processes and containers (a trivial function on 2 cores ran a 2,000-input map at half
    /// the speed with 8 workers that mostly waited for their next input as with 2); unlimited for a cluster.
    /// </summary>
    public int ContainersBeforeUtilization { get; init; } = int.MaxValue;

    /// <summary>No limit of its own: something else admits the workers (a cluster's scheduler).</summary>
    public static LauncherCapacity Unbounded(string description) =>
        new(double.PositiveInfinity, double.PositiveInfinity, int.MaxValue, description);

    /// <summary>
    /// This machine's cores (<see cref="Environment.ProcessorCount"/>, which honours CPU affinity and a container's CPU limit)
    /// and memory (what the .NET runtime sees as available: physical memory, or a container's memory limit), and no GPUs.
    /// </summary>
    public static LauncherCapacity ThisMachine()
    {
        int cores = Environment.ProcessorCount;
        double memoryMb = Math.Floor(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024.0));
        return new(cores, memoryMb, 0, string.Create(CultureInfo.InvariantCulture, $"this machine ({cores} cores, {memoryMb:#,0} MiB)"))
        {
            CpuPerContainerFloor = WorkerProcessCpuFloor,
            ContainersBeforeUtilization = Math.Max(1, cores),
        };
    }

    /// <summary>Whether a container with <paramref name="request"/> fits in an empty launcher: otherwise it could never start.</summary>
    public bool Holds(ResourceRequest request) => request.Cpu <= Cpu && request.MemoryMb <= MemoryMb && request.Gpus <= Gpus;

    /// <summary>For messages: <c>2 cores, 24,105 MiB and no GPUs (this machine ...)</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Amount(Cpu, "0.###")} cores, {Amount(MemoryMb, "#,0")} MiB and {(Gpus == int.MaxValue ? "any number of" : Gpus == 0 ? "no" : Gpus.ToString(CultureInfo.InvariantCulture))} GPUs ({Description})");

    private static string Amount(double value, string format) =>
        double.IsPositiveInfinity(value) ? "unlimited" : value.ToString(format, CultureInfo.InvariantCulture);
}
