namespace Modal.Hosting;

/// <summary>
/// Worker mode: the app's own executable started by a launcher to serve inputs. The launcher marks it with the
/// environment variable <see cref="EnvironmentVariable"/>; then <c>ModalApp.RunAsync</c> never returns.
/// </summary>
internal static class WorkerMode
{
    /// <summary>Set by the launcher in a worker's environment.</summary>
    public const string EnvironmentVariable = WorkerHost.WorkerVariable;

    /// <summary>True in a worker process.</summary>
    public static bool IsWorker => WorkerHost.IsWorkerProcess;

    /// <summary>Serves inputs through the registered entrypoints until told to stop, then exits the process.</summary>
    public static async Task RunAsync(string[] args, ModalAppOptions options)
    {
        _ = args;
        _ = options;
        AppIdentity.EnsureEntrypointsRegistered();
        await WorkerHost.RunAndExitAsync().ConfigureAwait(false);
        throw new InvalidOperationException("The worker loop returned without exiting the process.");
    }
}
