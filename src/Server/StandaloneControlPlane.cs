using System.Runtime.InteropServices;

namespace Modal.Server;

/// <summary>The standalone control plane's run loop, shared by <c>modal server</c> and <c>dotnet run --project src/Server</c>.</summary>
public static class StandaloneControlPlane
{
    /// <summary>Starts a control plane, prints where it listens on <paramref name="output"/>, and runs until SIGINT or SIGTERM.</summary>
    public static async Task RunAsync(ControlPlaneOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stopped.TrySetResult();
        }
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        await using var controlPlane = await ControlPlane.StartAsync(options).ConfigureAwait(false);
        await output.WriteLineAsync($"Modal control plane listening on {controlPlane.Url}").ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
        await stopped.Task.ConfigureAwait(false);
    }
}
