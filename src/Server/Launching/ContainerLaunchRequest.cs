namespace Modal.Server.Launching;

/// <summary>What a launcher needs to start one worker for one function.</summary>
/// <param name="ContainerId">The id the worker presents in <c>x-modal-container-id</c>.</param>
/// <param name="ContainerToken">The secret the worker presents in <c>x-modal-container-token</c>.</param>
/// <param name="AppName">The app, for logs.</param>
/// <param name="FunctionName">The one function this worker serves.</param>
/// <param name="Executable">The program to run (the app's own executable in worker mode).</param>
/// <param name="Arguments">Its arguments.</param>
/// <param name="WorkingDirectory">Its working directory; empty for the server's.</param>
/// <param name="Environment">Its environment, including <c>MODAL_WORKER</c>, <c>MODAL_SERVER_URL</c>,
/// <c>MODAL_CONTAINER_ID</c> and <c>MODAL_CONTAINER_TOKEN</c>.</param>
/// <param name="Image">The OCI image, for container launchers.</param>
/// <param name="OnOutputLine">Receives each line the worker writes to stdout (false) or stderr (true).</param>
public sealed record ContainerLaunchRequest(
    string ContainerId,
    string ContainerToken,
    string AppName,
    string FunctionName,
    string Executable,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment,
    string Image,
    Action<string, bool> OnOutputLine)
{
    /// <summary>CPU cores the container requests (0: the launcher's default), for container and Kubernetes launchers.</summary>
    public double Cpu { get; init; }

    /// <summary>Memory the container may use, in MiB (0: no limit given).</summary>
    public int MemoryMb { get; init; }

    /// <summary>The GPU request, e.g. <c>"A100:2"</c>; empty for none.</summary>
    public string Gpu { get; init; } = "";

    /// <summary>
    /// The stored artifact the worker runs from (a standalone server); empty when <see cref="Executable"/> is given. The
    /// control plane turns it into the command (its .NET host running <see cref="Entrypoint"/> inside the artifact) just
    /// before the launcher sees the request.
    /// </summary>
    public string ArtifactDigest { get; init; } = "";

    /// <summary>The entry assembly inside <see cref="ArtifactDigest"/>, e.g. <c>App.dll</c>.</summary>
    public string Entrypoint { get; init; } = "";

    /// <summary>How long the worker has to connect (say hello) before it is killed and relaunched.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(60);
}
