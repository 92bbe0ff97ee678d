namespace Modal.Hosting;

/// <summary>
/// Worker mode: the app's own executable started by a launcher to serve inputs. The launcher marks it with the
/// environment variable <see cref="EnvironmentVariable"/>; then <c>ModalApp.RunAsync</c> never returns.
/// </summary>
internal static class WorkerMode
{
    /// <summary>Set by the launcher in a worker's environment.</summary>
    public const string EnvironmentVariable = "MODAL_WORKER";

    /// <summary>True in a worker process.</summary>
    public static bool IsWorker => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>
    /// HOOK(worker): serve inputs through the registered entrypoints until told to stop, then exit the process.
    /// It must never return to <c>RunAsync</c>'s caller.
    /// </summary>
    public static Task RunAsync(string[] args, ModalAppOptions options)
        => throw new NotSupportedException(
            $"This process was started as a Modal worker ({EnvironmentVariable} is set), but worker mode is not available in this build yet.");
}
