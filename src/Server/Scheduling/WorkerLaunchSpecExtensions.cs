using Modal.Api;

namespace Modal.Server.Scheduling;

internal static class WorkerLaunchSpecExtensions
{
    /// <summary>
    /// Whether the control plane launches this app's workers: a command line (embedded), an image or an uploaded
    /// artifact. Otherwise workers connect on their own, or not at all.
    /// </summary>
    public static bool LaunchesWorkers(this WorkerLaunchSpec launch) =>
        launch.Executable.Length > 0 || launch.Image.Length > 0 || launch.ArtifactDigest.Length > 0;
}
