using System.Diagnostics;

namespace Modal.Server.Launching;

/// <summary>
/// Runs each worker as a local child process, capturing its stdout and stderr lines. With a <see cref="ProcessSandbox"/>
/// (a standalone control plane) the worker gets a minimal environment instead of the server's, and runs under bubblewrap
/// when it is installed; without one (the embedded control plane, in the caller's own process) it inherits the caller's.
/// </summary>
/// <param name="sandbox">How to confine workers; null runs them as plain children of this process.</param>
public sealed class LocalProcessLauncher(ProcessSandbox? sandbox = null) : IContainerLauncher
{
    private readonly string? _bubblewrap = sandbox is null ? null : ProcessSandbox.Bubblewrap();

    /// <summary>This machine's cores and memory: the workers run here.</summary>
    public LauncherCapacity Capacity { get; } = LauncherCapacity.ThisMachine();

    /// <summary>Whether workers run under bubblewrap.</summary>
    public bool Sandboxed => _bubblewrap is not null;

    /// <inheritdoc/>
    public Task<IContainerHandle> LaunchAsync(ContainerLaunchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        IReadOnlyList<string> arguments = request.Arguments;
        string executable = request.Executable;
        if (sandbox is not null && _bubblewrap is not null)
        {
            arguments = sandbox.WrapArguments(executable, arguments, request.WorkingDirectory);
            executable = _bubblewrap;
        }
        var startInfo = CapturedProcess.StartInfo(executable, arguments);
        if (sandbox is not null)
        {
            startInfo.Environment.Clear();
            foreach (var (key, value) in ProcessSandbox.BaseEnvironment().Concat(sandbox.Environment ?? new Dictionary<string, string>()))
            {
                startInfo.Environment[key] = value;
            }
        }
        if (!string.IsNullOrEmpty(request.WorkingDirectory))
        {
            startInfo.WorkingDirectory = request.WorkingDirectory;
        }
        foreach (var (key, value) in request.Environment)
        {
            startInfo.Environment[key] = value;
        }
        Process process;
        try
        {
            process = CapturedProcess.Start(startInfo, request.OnOutputLine);
        }
        catch (Exception exception)
        {
            throw new InvalidOperationException(
                $"Could not start worker '{request.Executable}' for function {request.FunctionName} of app {request.AppName}: {exception.Message}",
                exception);
        }
        return Task.FromResult<IContainerHandle>(new LocalProcessHandle(process));
    }

    private sealed class LocalProcessHandle : IContainerHandle
    {
        private readonly Process _process;
        private readonly Task<int> _exited;

        public LocalProcessHandle(Process process)
        {
            _process = process;
            ProcessId = process.Id;
            _exited = WaitAsync(process);
        }

        private static async Task<int> WaitAsync(Process process)
        {
            await process.WaitForExitAsync().ConfigureAwait(false);
            return process.ExitCode;
        }

        public int? ProcessId { get; }

        public Task<int> Exited => _exited;

        public async Task StopAsync()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
                // It exited in the meantime.
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // It exited in the meantime, or cannot be signalled any more.
            }
            await _exited.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync().ConfigureAwait(false);
            _process.Dispose();
        }
    }
}
