using Modal.Api;

namespace Modal.Hosting;

/// <summary>
/// <see cref="ModalMode.Embedded"/>: a control plane started inside this process on a free loopback port, with an
/// in-memory store and local worker processes; the app registers on it like on any other, and disposing the app
/// stops it. The control plane comes from <c>Modal.Server</c> (<see cref="EmbeddedControlPlanes"/>).
/// </summary>
internal static class EmbeddedControlPlane
{
    /// <summary>What <see cref="ModalMode.Auto"/> means without a server URL.</summary>
    public const ModalMode DefaultMode = ModalMode.Embedded;

    /// <summary>Starts the control plane and registers the app on it.</summary>
    /// <exception cref="NotSupportedException">The app does not ship <c>Modal.Server</c>.</exception>
    public static async Task<IModalBackend> StartBackendAsync(string appName, AppKind kind, ModalAppOptions options, CancellationToken cancellationToken)
    {
        var start = EmbeddedControlPlanes.Find() ?? throw new NotSupportedException(
            $"App '{appName}' has no control plane to run on: no server URL is configured, and the embedded mode needs the " +
            $"{EmbeddedControlPlanes.ServerAssemblyName} package, which this app does not reference. Either run " +
            $"'dotnet add package {EmbeddedControlPlanes.ServerAssemblyName}' to run a control plane inside this process, or set " +
            $"{BackendFactory.ServerUrlVariable} (or ModalAppOptions.ServerUrl) to the address of a running 'modal server'.");
        // A token of this run's own unless one is given: other processes on this machine cannot reach the loopback port's RPCs.
        if (string.IsNullOrEmpty(options.TokenId) || string.IsNullOrEmpty(options.TokenSecret))
        {
            options = options with
            {
                TokenId = "tk-embedded" + Guid.NewGuid().ToString("N")[..12],
                TokenSecret = "ts-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)),
            };
        }
        var (url, server) = await start(options.TokenId, options.TokenSecret, cancellationToken).ConfigureAwait(false);
        try
        {
            // The app's unary calls reach its own control plane in process; streams, and its workers, use the loopback port.
            return await ControlPlaneBackend.StartAsync(url.ToString(), appName, kind, options, server, cancellationToken,
                EmbeddedControlPlanes.InProcessClient(server)).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
