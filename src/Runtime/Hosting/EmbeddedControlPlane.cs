using Microsoft.Extensions.Logging;
using Modal.Api;
using Modal.Server;

namespace Modal.Hosting;

/// <summary>
/// <see cref="ModalMode.Embedded"/>: a control plane started inside this process on a free loopback port, with an
/// in-memory store and local worker processes; the app registers on it like on any other, and disposing the app
/// stops it.
/// </summary>
internal static class EmbeddedControlPlane
{
    /// <summary>What <see cref="ModalMode.Auto"/> means without a server URL.</summary>
    public const ModalMode DefaultMode = ModalMode.Embedded;

    /// <summary>Starts the control plane and registers the app on it.</summary>
    public static async Task<IModalBackend> StartBackendAsync(string appName, AppKind kind, ModalAppOptions options, CancellationToken cancellationToken)
    {
        // A token of this run's own unless one is given: other processes on this machine cannot reach the loopback port's RPCs.
        if (string.IsNullOrEmpty(options.TokenId) || string.IsNullOrEmpty(options.TokenSecret))
        {
            options = options with
            {
                TokenId = "tk-embedded" + Guid.NewGuid().ToString("N")[..12],
                TokenSecret = "ts-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)),
            };
        }
        var server = await ControlPlane.StartAsync(new ControlPlaneOptions
        {
            Port = 0,
            TokenId = options.TokenId,
            TokenSecret = options.TokenSecret,
            // The embedded server's own logging would interleave with the app's console; warnings and errors only.
            ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            return await ControlPlaneBackend.StartAsync(server.Url.ToString(), appName, kind, options, server, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
