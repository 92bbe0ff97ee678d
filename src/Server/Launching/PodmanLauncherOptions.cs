namespace Modal.Server.Launching;

/// <summary>How <see cref="PodmanLauncher"/> runs worker containers.</summary>
public sealed record PodmanLauncherOptions
{
    /// <summary>The podman executable.</summary>
    public string Podman { get; init; } = "podman";

    /// <summary>
    /// The directory of the Unix domain socket the control plane listens on for its containers (mounted into each one
    /// read-only at <see cref="PodmanLauncher.SocketMountPath"/>); null: a new temporary directory.
    /// </summary>
    public string? SocketDirectory { get; init; }

    /// <summary>The user the worker runs as inside its container (<c>UID:GID</c>); <c>nobody</c> by default.</summary>
    public string User { get; init; } = "65534:65534";
}
