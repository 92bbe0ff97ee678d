using Modal.InProcess;

namespace Modal.Hosting;

/// <summary>
/// The one place where an execution mode becomes a backend. The control-plane work extends this with the
/// embedded and remote backends.
/// </summary>
internal static class BackendFactory
{
    /// <summary>The mode <paramref name="options"/> ask for, with <see cref="ModalMode.Auto"/> resolved.</summary>
    public static ModalMode ResolveMode(ModalAppOptions options)
    {
        if (options.Mode != ModalMode.Auto)
        {
            return options.Mode;
        }
        // TODO(control plane): Auto becomes Remote when a server URL is configured (options.ServerUrl or
        // MODAL_SERVER_URL) and Embedded otherwise, once those backends land. Until then every Auto app runs in process.
        return ModalMode.InProcess;
    }

    /// <summary>Creates the backend for a resolved mode.</summary>
    /// <exception cref="NotSupportedException">The mode is not available yet.</exception>
    public static ValueTask<IModalBackend> CreateAsync(ModalMode mode, string appName, ModalAppOptions options, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return mode switch
        {
            ModalMode.InProcess => ValueTask.FromResult<IModalBackend>(new InProcessBackend(appName)),
            ModalMode.Embedded => throw NotYetAvailable(mode, "an embedded control plane"),
            ModalMode.Remote => throw NotYetAvailable(mode, $"a control plane at '{options.ServerUrl ?? Environment.GetEnvironmentVariable("MODAL_SERVER_URL") ?? "(no URL set)"}'"),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown execution mode."),
        };
    }

    private static NotSupportedException NotYetAvailable(ModalMode mode, string what)
        => new($"ModalMode.{mode} ({what}) is not available in this build yet. " +
               "Use ModalMode.InProcess (or the default, ModalMode.Auto, which runs in process for now).");
}
