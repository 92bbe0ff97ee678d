using Modal.Api;
using Modal.Server.Artifacts;
using Modal.Server.Services;

namespace Modal.Server.Security;

/// <summary>
/// What an app's workers may run. A standalone control plane never runs a client's command line: an app names a stored
/// artifact (or an image), and the server writes the launch itself. The embedded control plane, inside its caller's own
/// process, runs the caller's executable as the caller describes it. Either way, the environment a client gives its
/// workers cannot reach the .NET runtime, the dynamic loader or the worker's own Modal variables.
/// </summary>
internal sealed class LaunchPolicy(ControlPlaneOptions options, ArtifactStore artifacts)
{
    /// <summary>The launch to store for an app created with <paramref name="requested"/>.</summary>
    public async Task<WorkerLaunchSpec> ResolveAsync(WorkerLaunchSpec? requested)
    {
        requested ??= new WorkerLaunchSpec();
        Core.WorkerEnvironment.Check(requested.Environment, "launch.environment", "AppCreate");
        if (!options.Standalone)
        {
            return requested;
        }
        string? commandField = requested.Executable.Length > 0 ? "launch.executable"
            : requested.Arguments.Count > 0 ? "launch.arguments"
            : requested.WorkingDirectory.Length > 0 ? "launch.working_directory"
            : null;
        if (commandField is not null)
        {
            throw Errors.Invalid(
                $"AppCreate: {commandField} is set, but a standalone control plane never runs a command line sent by a client. Upload the app's " +
                "build output with ArtifactCommit and name it in launch.artifact_digest and launch.entrypoint (ModalApp.RunAsync and DeployAsync do).");
        }
        if (requested.ArtifactDigest.Length > 0)
        {
            return await artifacts.ServerLaunchAsync(requested).ConfigureAwait(false);
        }
        if (requested.Entrypoint.Length > 0)
        {
            throw Errors.Invalid("AppCreate: launch.entrypoint is set without launch.artifact_digest; name the artifact it is in.");
        }
        RequestLimits.Optional(requested.Image, "launch.image", "AppCreate");
        return requested;
    }
}
