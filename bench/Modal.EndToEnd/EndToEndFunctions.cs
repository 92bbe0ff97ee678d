[assembly: Modal.ModalApp("bench-e2e")]

namespace Modal.EndToEnd;

/// <summary>The functions the runner calls. Trivial on purpose: what is measured is the path around them.</summary>
public static partial class EndToEndFunctions
{
    /// <summary>
    /// At most two worker processes (the benchmark machine has two cores), each running up to 32 inputs at once, so a
    /// large map is limited by the path around the function rather than by process count. A <see cref="long"/>, because
    /// squares past 46,340 overflow an <see cref="int"/>, and the runner checks every output of maps of a million inputs.
    /// </summary>
    [Function(MaxContainers = 2, MaxInputs = 32)]
    public static long Square(int x) => (long)x * x;

    /// <summary>
    /// The same function with the default options: one input per container of 0.125 cores and 128 MiB, as many containers
    /// as the control plane's capacity holds (16 on 2 cores).
    /// </summary>
    [Function]
    public static long SquareDefaults(int x) => (long)x * x;

    /// <summary>The default options but at most two containers: what <see cref="SquareDefaults"/> is compared with.</summary>
    [Function(MaxContainers = 2)]
    public static long SquareTwoContainers(int x) => (long)x * x;

    /// <summary>The cores each cold-start worker asks for; the bare <c>podman run</c> beside it gets the same limit.</summary>
    public const double ColdCpu = 1.0;

    /// <summary>The memory (MiB) each cold-start worker asks for; the bare <c>podman run</c> beside it gets the same limit.</summary>
    public const int ColdMemoryMb = 256;

    /// <summary>
    /// The function of the cold-start measure (<c>--cold-start</c>): one container at most, stopped one second after it
    /// goes idle, so that every measured call waits for a fresh worker. One core and 256 MiB rather than the defaults,
    /// whose 0.125-core limit would throttle a container's start to an eighth of a core.
    /// </summary>
    [Function(MaxContainers = 1, ScaledownWindowSeconds = 1, Cpu = ColdCpu, MemoryMb = ColdMemoryMb)]
    public static int ColdPing(int x) => x + 1;
}
