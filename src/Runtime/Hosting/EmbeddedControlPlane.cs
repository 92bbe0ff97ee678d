using Modal.Api;

namespace Modal.Hosting;

/// <summary>Starts a control plane inside this process on loopback for <see cref="ModalMode.Embedded"/>.</summary>
internal static class EmbeddedControlPlane
{
    /// <summary>What <see cref="ModalMode.Auto"/> means without a server URL.</summary>
    public const ModalMode DefaultMode = ModalMode.InProcess;

    /// <summary>Starts the control plane and registers the app on it.</summary>
    public static Task<IModalBackend> StartBackendAsync(string appName, AppKind kind, ModalAppOptions options, CancellationToken cancellationToken)
        => throw new NotSupportedException(
            $"ModalMode.Embedded is not available in this build yet; set {BackendFactory.ServerUrlVariable} to use a standalone control plane.");
}
