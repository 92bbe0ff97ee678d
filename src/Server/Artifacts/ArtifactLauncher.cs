using Modal.Server.Launching;

namespace Modal.Server.Artifacts;

/// <summary>
/// Turns a launch that names a stored artifact into the command that runs it: this server's .NET host running the entry
/// assembly inside the artifact's directory (or the NativeAOT executable named as the entrypoint, run as it is). Resolved at each launch, so that the stored launch holds no path (the
/// directory may move with a restart or differ between replicas). Launches that name an executable (the embedded
/// control plane) pass through unchanged.
/// </summary>
internal sealed class ArtifactLauncher(IContainerLauncher inner, ArtifactStore artifacts) : IContainerLauncher
{
    public LauncherCapacity Capacity => inner.Capacity;

    public async Task<IContainerHandle> LaunchAsync(ContainerLaunchRequest request, CancellationToken cancellationToken)
    {
        if (request.ArtifactDigest.Length == 0)
        {
            return await inner.LaunchAsync(request, cancellationToken).ConfigureAwait(false);
        }
        string tree = await artifacts.TreeAsync(request.ArtifactDigest).ConfigureAwait(false)
            ?? throw new InvalidOperationException(
                $"Artifact {request.ArtifactDigest} of app {request.AppName} is not stored on this server (its files are missing); deploy the app again.");
        string entry = Path.Combine(tree, request.Entrypoint);
        return await inner.LaunchAsync(Images.WorkerImage.IsManagedEntrypoint(request.Entrypoint)
            ? request with { Executable = ArtifactStore.DotnetHost(), Arguments = [entry], WorkingDirectory = tree }
            : request with { Executable = entry, Arguments = [], WorkingDirectory = tree }, // a NativeAOT executable
            cancellationToken).ConfigureAwait(false);
    }
}
