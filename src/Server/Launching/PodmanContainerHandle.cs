using System.Diagnostics;

namespace Modal.Server.Launching;

/// <summary>
/// A worker container run by an attached <c>podman run</c>: the container's exit is that process's exit (its code is
/// the container's), and stopping removes the container, which ends the process.
/// </summary>
internal sealed class PodmanContainerHandle : IContainerHandle
{
    private static readonly TimeSpan ExitAfterRemoval = TimeSpan.FromSeconds(10);
    private readonly Process _process;
    private readonly string _name;
    private readonly Func<string, Task> _remove;
    private readonly Task<int> _exited;

    public PodmanContainerHandle(Process process, string name, Func<string, Task> remove)
    {
        _process = process;
        _name = name;
        _remove = remove;
        _exited = WaitAsync(process);
    }

    private static async Task<int> WaitAsync(Process process)
    {
        await process.WaitForExitAsync().ConfigureAwait(false);
        return process.ExitCode;
    }

    /// <summary>None: the worker runs in a container (its name is <c>modal-</c> and the container id).</summary>
    public int? ProcessId => null;

    public Task<int> Exited => _exited;

    public async Task StopAsync()
    {
        try
        {
            await _remove(_name).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                await _exited.WaitAsync(ExitAfterRemoval).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The container is gone but podman still waits on it: end the client, which holds nothing else.
                try
                {
                    _process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // It exited in the meantime.
                }
                await _exited.WaitAsync(ExitAfterRemoval).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_exited.IsCompleted)
            {
                await StopAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            // Even when podman could not be made to exit in time, this side lets go of it.
            _process.Dispose();
        }
    }
}
