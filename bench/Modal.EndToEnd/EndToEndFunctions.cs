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
}
