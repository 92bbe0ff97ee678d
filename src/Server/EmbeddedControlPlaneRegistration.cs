using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Modal.Server;

/// <summary>
/// The embedded mode's control plane. When this assembly loads, it stores its start function in <see cref="AppContext"/>
/// under <see cref="StartKey"/>, where <c>Modal.Runtime</c> looks for it: an app that references <c>Modal.Server</c> runs
/// <c>ModalMode.Embedded</c>, and neither assembly references the other.
/// </summary>
internal static class EmbeddedControlPlaneRegistration
{
    /// <summary>The name the runtime reads (<c>Modal.Hosting.EmbeddedControlPlanes.StartKey</c>); the two must agree.</summary>
    public const string StartKey = "Modal.EmbeddedControlPlane.Start";

    /// <summary>
    /// The name under which the in-process client is found (<c>Modal.Hosting.EmbeddedControlPlanes.InProcessClientKey</c>):
    /// given the handle <see cref="StartAsync"/> returned and the network's call invoker, the invoker through which the app
    /// reaches its own control plane (<see cref="ControlPlane.InProcessClient"/>); null for a handle that is not one.
    /// </summary>
    public const string InProcessClientKey = "Modal.EmbeddedControlPlane.InProcessClient";

#pragma warning disable CA2255 // Registering is this library's part of the embedded mode; it must precede the app's first call.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        if (AppContext.GetData(StartKey) is null)
        {
            AppContext.SetData(StartKey, (Func<string?, string?, CancellationToken, Task<(Uri Url, IAsyncDisposable Server)>>)StartAsync);
        }
        if (AppContext.GetData(InProcessClientKey) is null)
        {
            AppContext.SetData(InProcessClientKey, (Func<IAsyncDisposable, Grpc.Core.CallInvoker, Grpc.Core.CallInvoker?>)InProcessClient);
        }
    }

    private static Grpc.Core.CallInvoker? InProcessClient(IAsyncDisposable server, Grpc.Core.CallInvoker network) =>
        server is ControlPlane controlPlane ? controlPlane.InProcessClient(network) : null;

    /// <summary>
    /// A control plane on a free loopback port with an ephemeral store and local worker processes, placed by this machine's
    /// capacity and the <c>MODAL_CPU_OVERCOMMIT</c>, <c>MODAL_CAPACITY_CPU</c>… variables (<see cref="CapacityVariables"/>).
    /// </summary>
    internal static async Task<(Uri Url, IAsyncDisposable Server)> StartAsync(string? tokenId, string? tokenSecret, CancellationToken cancellationToken)
    {
        var controlPlane = await ControlPlane.StartAsync(CapacityVariables.Apply(new ControlPlaneOptions
        {
            Port = 0,
            TokenId = tokenId,
            TokenSecret = tokenSecret,
            // The embedded server's own logging would interleave with the app's console; warnings and errors only.
            ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
        }), cancellationToken).ConfigureAwait(false);
        return (controlPlane.Url, controlPlane);
    }
}
