using System.Reflection;
using System.Runtime.CompilerServices;

namespace Modal.Hosting;

/// <summary>
/// Where <see cref="ModalMode.Embedded"/> finds its control plane. Neither assembly references the other:
/// <c>Modal.Server</c>'s module initializer stores a start function (BCL types only) under <see cref="StartKey"/> in
/// <see cref="AppContext"/>, so an app gets the embedded mode by referencing the <c>Modal.Server</c> package, and a worker
/// image without it holds no ASP.NET Core.
/// </summary>
internal static class EmbeddedControlPlanes
{
    /// <summary>The assembly that provides the embedded control plane.</summary>
    public const string ServerAssemblyName = "Modal.Server";

    /// <summary>
    /// The <see cref="AppContext"/> data name of the start function, a <c>Func&lt;string?, string?, CancellationToken, Task&lt;(Uri Url, IAsyncDisposable Server)&gt;&gt;</c>: given a token id and
    /// secret (either may be null) it starts a control plane on a free loopback port, with an ephemeral store and local
    /// worker processes, and returns its URL and the handle that stops it.
    /// </summary>
    public const string StartKey = "Modal.EmbeddedControlPlane.Start";

    /// <summary>
    /// The <see cref="AppContext"/> data name of the in-process client, a <c>Func&lt;IAsyncDisposable, CallInvoker, CallInvoker?&gt;</c>:
    /// given the handle the start function returned and the network's call invoker, the invoker through which this process
    /// reaches that control plane without a network for its unary calls; null when it cannot. A <c>Modal.Server</c> without
    /// it is reached over loopback HTTP/2.
    /// </summary>
    public const string InProcessClientKey = "Modal.EmbeddedControlPlane.InProcessClient";

    private static int s_probed;

    /// <summary>
    /// The registered start function. When none has registered yet, loads <c>Modal.Server</c> once by name and runs its
    /// module initializer (startup only, like the generated entrypoints' registration); null when the app does not ship it.
    /// </summary>
    public static Func<string?, string?, CancellationToken, Task<(Uri Url, IAsyncDisposable Server)>>? Find()
    {
        if (Registered() is { } start)
        {
            return start;
        }
        if (Interlocked.Exchange(ref s_probed, 1) == 0)
        {
            try
            {
                var server = Assembly.Load(new AssemblyName(ServerAssemblyName));
                RuntimeHelpers.RunModuleConstructor(server.ManifestModule.ModuleHandle);
            }
            catch (Exception exception) when (exception is FileNotFoundException or FileLoadException or BadImageFormatException)
            {
                // Not deployed with the app: the embedded mode is unavailable, and the caller says what to do.
            }
        }
        return Registered();
    }

    /// <summary>
    /// How this process calls the control plane <paramref name="server"/> (a handle from <see cref="Find"/>'s start
    /// function) in process: a wrapper of the network's call invoker, or null when the server assembly offers none.
    /// </summary>
    public static Func<Grpc.Core.CallInvoker, Grpc.Core.CallInvoker>? InProcessClient(IAsyncDisposable server) =>
        AppContext.GetData(InProcessClientKey) is Func<IAsyncDisposable, Grpc.Core.CallInvoker, Grpc.Core.CallInvoker?> wrap
            ? network => wrap(server, network) ?? network
            : null;

    private static Func<string?, string?, CancellationToken, Task<(Uri Url, IAsyncDisposable Server)>>? Registered()
        => AppContext.GetData(StartKey) as Func<string?, string?, CancellationToken, Task<(Uri Url, IAsyncDisposable Server)>>;
}
