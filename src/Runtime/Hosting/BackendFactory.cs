using System.Globalization;
using Modal.Api;
using Modal.InProcess;

namespace Modal.Hosting;

/// <summary>The one place where an execution mode becomes a backend.</summary>
internal static class BackendFactory
{
    /// <summary>The environment variable naming a standalone control plane.</summary>
    public const string ServerUrlVariable = ClientSettings.ServerUrlVariable;

    /// <summary>The environment variable that sets the retry window, in seconds.</summary>
    public const string RetryWindowVariable = "MODAL_RETRY_WINDOW_SECONDS";

    /// <summary>The mode <paramref name="options"/> ask for, with <see cref="ModalMode.Auto"/> resolved.</summary>
    public static ModalMode ResolveMode(ModalAppOptions options)
    {
        if (options.Mode != ModalMode.Auto)
        {
            return options.Mode;
        }
        return ServerUrl(options) is not null ? ModalMode.Remote : EmbeddedControlPlane.DefaultMode;
    }

    /// <summary>
    /// The configured control plane URL: the options', else <c>MODAL_SERVER_URL</c>, else <c>server_url</c> in the
    /// profile file, else null.
    /// </summary>
    public static string? ServerUrl(ModalAppOptions options) => ClientSettings.Resolve(options).ServerUrl;

    /// <summary>
    /// How long calls ride out an unreachable control plane: the options', else <c>MODAL_RETRY_WINDOW_SECONDS</c>, else
    /// 60 s. A negative or unreadable value throws, naming where it came from.
    /// </summary>
    public static TimeSpan RetryWindow(ModalAppOptions options)
    {
        if (options.RetryWindow is { } configured)
        {
            return configured >= TimeSpan.Zero
                ? configured
                : throw new ArgumentOutOfRangeException(
                    nameof(options), configured, "ModalAppOptions.RetryWindow must be zero (no retries) or positive; the default is 60 seconds.");
        }
        if (Environment.GetEnvironmentVariable(RetryWindowVariable) is not { Length: > 0 } text)
        {
            return GrpcConnection.DefaultRetryWindow;
        }
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds)
            || seconds < 0 || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            throw new InvalidOperationException(
                $"{RetryWindowVariable} is '{text}', which is not a number of seconds (zero or more, for example 60 or 2.5). " +
                "Fix or unset it; the default is 60.");
        }
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Creates the backend of an ephemeral app for a resolved mode.</summary>
    public static ValueTask<IModalBackend> CreateAsync(ModalMode mode, string appName, ModalAppOptions options, CancellationToken cancellationToken)
        => CreateAsync(mode, appName, options, deploy: false, cancellationToken);

    /// <summary>Creates the backend for a resolved mode; <paramref name="deploy"/> registers a deployed app instead of an ephemeral one.</summary>
    /// <exception cref="NotSupportedException">The mode is not available.</exception>
    public static async ValueTask<IModalBackend> CreateAsync(ModalMode mode, string appName, ModalAppOptions options, bool deploy, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var kind = deploy ? AppKind.Deployed : AppKind.Ephemeral;
        switch (mode)
        {
            case ModalMode.InProcess:
                return new InProcessBackend(appName);
            case ModalMode.Embedded:
                return await EmbeddedControlPlane.StartBackendAsync(appName, kind, options, cancellationToken).ConfigureAwait(false);
            case ModalMode.Remote:
                var url = ServerUrl(options) ?? throw new InvalidOperationException(
                    $"ModalMode.Remote needs a control plane URL: set ModalAppOptions.ServerUrl or {ServerUrlVariable} " +
                    "to the address `modal server` prints (for example http://127.0.0.1:5000).");
                return await ControlPlaneBackend.StartAsync(url, appName, kind, options, ownedServer: null, cancellationToken).ConfigureAwait(false);
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown execution mode.");
        }
    }
}
