using System.Runtime.InteropServices;

namespace Modal.Reliability.Tests;

/// <summary>POSIX signals for processes this test started (directly or through the control plane it started).</summary>
public static partial class Signals
{
    /// <summary>Ends a process at once: no handler runs, nothing is flushed.</summary>
    public const int Kill = 9;

    /// <summary>Resumes a stopped process.</summary>
    public const int Continue = 18;

    /// <summary>Freezes a process until <see cref="Continue"/> (it cannot be caught or ignored).</summary>
    public const int Stop = 19;

    /// <summary>
    /// Sends <paramref name="signal"/> to the process if it is still the same one (its start time matches), so a
    /// process id reused by someone else's process is never signalled. Returns whether the signal was sent.
    /// </summary>
    public static bool Send(ProcessEntry process, int signal)
        => ProcessTree.IsAlive(process) && SendSignal(process.Pid, signal) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
