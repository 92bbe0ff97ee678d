using System.Diagnostics;
using System.Globalization;
using Modal.Server.Images;

namespace Modal.Server.Launching;

/// <summary>
/// Runs each worker as a podman container (runc) from its app version's image: no network at all, a read-only root
/// filesystem (with private tmpfs on <c>/tmp</c> and <c>/run</c>), no capabilities, an unprivileged user, and the
/// function's <c>Cpu</c> and <c>MemoryMb</c> as <c>--cpus</c> and <c>--memory</c> limits. The worker talks gRPC to the
/// control plane over the Unix domain socket the control plane listens on, whose directory is mounted read-only into
/// the container. <c>podman run</c> stays attached, so its output is the worker's and its exit is the container's;
/// stopping a worker removes its container (<c>podman rm -f</c>).
/// </summary>
/// <param name="options">The podman executable and the user workers run as.</param>
/// <param name="socketPath">The control plane's Unix domain socket on this machine.</param>
public sealed class PodmanLauncher(PodmanLauncherOptions options, string socketPath) : IContainerLauncher
{
    /// <summary>Where the socket's directory is mounted in every container.</summary>
    public const string SocketMountPath = "/run/modal";

    /// <summary>The label every container of this launcher carries (<c>podman ps --filter label=dev.modal.managed-by=modal-server</c>).</summary>
    public const string ManagedByLabel = "dev.modal.managed-by";

    /// <summary>The label naming the worker's container id.</summary>
    public const string ContainerIdLabel = "dev.modal.container-id";

    private static readonly TimeSpan RemoveTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The container's name in podman: <c>modal-</c> and the worker's container id.</summary>
    public static string ContainerName(string containerId) => "modal-" + containerId;

    /// <inheritdoc/>
    public LauncherCapacity Capacity { get; } = LauncherCapacity.ThisMachine();

    /// <summary>The control plane's URL inside a container.</summary>
    public string WorkerServerUrl => $"unix:{SocketMountPath}/{Path.GetFileName(socketPath)}";

    /// <inheritdoc/>
    public Task<IContainerHandle> LaunchAsync(ContainerLaunchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Image.Length == 0)
        {
            throw new InvalidOperationException(
                $"Function {request.FunctionName} of app {request.AppName} has no worker image, and the podman launcher runs images only. " +
                "Start the server with --registry HOST:PORT and deploy the app again (modal deploy), or run it with --launcher process.");
        }
        if (request.Gpu.Length > 0)
        {
            throw new InvalidOperationException(
                $"Function {request.FunctionName} of app {request.AppName} requests GPU '{request.Gpu}', and the podman launcher has no GPUs. " +
                "Remove the function's Gpu option, or run it where GPUs are (--launcher kubernetes).");
        }
        var environment = new Dictionary<string, string>(request.Environment, StringComparer.Ordinal)
        {
            ["MODAL_SERVER_URL"] = WorkerServerUrl,
        };
        // The worker's variables go to the container through an env file, never into podman's own environment (podman
        // reads CONTAINERS_CONF, REGISTRY_AUTH_FILE, TMPDIR and more from it, and some of these names are the client's) and
        // never onto its command line (where any local user could read the worker's token).
        var environmentFile = WorkerEnvironmentFile.Write(request, environment);
        var startInfo = CapturedProcess.StartInfo(options.Podman, RunArguments(request, environmentFile.Path));
        Process process;
        try
        {
            process = CapturedProcess.Start(startInfo, request.OnOutputLine);
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            environmentFile.Dispose();
            throw new InvalidOperationException(
                $"Could not run '{options.Podman}' for function {request.FunctionName} of app {request.AppName}: {exception.Message}. " +
                "Install podman and runc (apt-get install podman runc), or run the server with --launcher process.", exception);
        }
        var handle = new PodmanContainerHandle(process, ContainerName(request.ContainerId), RemoveAsync);
        // Podman has read the file long before the container ends; it goes with the container.
        _ = handle.Exited.ContinueWith(_ => environmentFile.Dispose(), TaskScheduler.Default);
        return Task.FromResult<IContainerHandle>(handle);
    }

    /// <summary>The arguments of <c>podman run</c> for one worker; its variables are in <paramref name="environmentFile"/>.</summary>
    internal IReadOnlyList<string> RunArguments(ContainerLaunchRequest request, string environmentFile)
    {
        var arguments = new List<string>
        {
            "run", "--name", ContainerName(request.ContainerId), "--rm", "--pull=missing",
            "--network=none", "--read-only", "--read-only-tmpfs=true", "--cap-drop=all", "--security-opt=no-new-privileges",
            "--user", options.User,
            "--mount", $"type=bind,source={Path.GetDirectoryName(socketPath)},destination={SocketMountPath},readonly=true",
            "--label", $"{ManagedByLabel}=modal-server",
            "--label", $"{ContainerIdLabel}={request.ContainerId}",
            "--label", $"{WorkerImage.AppLabel}={request.AppName}",
            "--label", $"dev.modal.function={request.FunctionName}",
        };
        if (WorkerImage.IsLoopbackRegistry(request.Image))
        {
            arguments.Add("--tls-verify=false");
        }
        if (request.Cpu > 0)
        {
            arguments.Add("--cpus=" + request.Cpu.ToString("0.###", CultureInfo.InvariantCulture));
        }
        if (request.MemoryMb > 0)
        {
            // No swap beyond the limit: the limit is what the function asked for.
            string memory = request.MemoryMb.ToString(CultureInfo.InvariantCulture) + "m";
            arguments.AddRange(["--memory=" + memory, "--memory-swap=" + memory]);
        }
        arguments.AddRange(["--env-file", environmentFile]);
        arguments.Add(request.Image);
        return arguments;
    }

    /// <summary>Stops and removes a container (a missing one is already gone).</summary>
    private async Task RemoveAsync(string name)
    {
        var removed = await ExternalCommand.RunAsync(options.Podman, ["rm", "--force", "--ignore", "--time", "0", name], RemoveTimeout).ConfigureAwait(false);
        if (removed.ExitCode != 0)
        {
            throw new InvalidOperationException($"podman could not remove container {name} (exit code {removed.ExitCode}): {removed.Tail}. " +
                $"Remove it by hand: podman rm -f {name}");
        }
    }
}
