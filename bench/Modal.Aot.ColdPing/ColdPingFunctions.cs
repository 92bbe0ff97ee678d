[assembly: Modal.ModalApp(Modal.Aot.ColdPing.ColdPingFunctions.AppName, Aot = true)]

namespace Modal.Aot.ColdPing;

/// <summary>The NativeAOT app of the cold-start benchmark's podman-aot kind.</summary>
public static partial class ColdPingFunctions
{
    /// <summary>The app's name, as the runner calls it by (<c>Function.FromName</c>).</summary>
    public const string AppName = "bench-aot";

    /// <summary>
    /// EndToEndFunctions.ColdPing in a NativeAOT worker, with the same options: one container at most, stopped one second
    /// after it goes idle, one core and 256 MiB.
    /// </summary>
    [Function(MaxContainers = 1, ScaledownWindowSeconds = 1, Cpu = 1.0, MemoryMb = 256)]
    public static int ColdPing(int x) => x + 1;
}
