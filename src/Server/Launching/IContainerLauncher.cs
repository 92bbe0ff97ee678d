namespace Modal.Server.Launching;

/// <summary>Starts workers (local processes, OCI containers, pods).</summary>
public interface IContainerLauncher
{
    /// <summary>
    /// What this launcher manages (<see cref="LauncherCapacity.ThisMachine"/> for workers on this machine,
    /// <see cref="LauncherCapacity.Unbounded"/> for a cluster that admits them itself). The control plane applies its
    /// overcommit or explicit capacity to it, and starts a container only while the requests fit.
    /// </summary>
    LauncherCapacity Capacity { get; }

    /// <summary>Starts one worker; the returned handle reports its exit and stops it.</summary>
    Task<IContainerHandle> LaunchAsync(ContainerLaunchRequest request, CancellationToken cancellationToken);
}

/// <summary>A running worker.</summary>
public interface IContainerHandle : IAsyncDisposable
{
    /// <summary>The process id, when the worker is a local process.</summary>
    int? ProcessId { get; }

    /// <summary>Completes with the exit code when the worker has exited.</summary>
    Task<int> Exited { get; }

    /// <summary>Stops the worker (its whole process tree) and waits for it to exit.</summary>
    Task StopAsync();
}
