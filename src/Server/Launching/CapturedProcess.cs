using System.Diagnostics;

namespace Modal.Server.Launching;

/// <summary>A child process whose standard output and error arrive line by line (workers, podman, buildah).</summary>
internal static class CapturedProcess
{
    /// <summary>The start of <paramref name="executable"/> with its output and error redirected and no input.</summary>
    public static ProcessStartInfo StartInfo(string executable, IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        return startInfo;
    }

    /// <summary>Starts the process; <paramref name="onLine"/> receives each line of stdout (false) or stderr (true).</summary>
    /// <exception cref="System.ComponentModel.Win32Exception">It could not be started (the process object is disposed).</exception>
    public static Process Start(ProcessStartInfo startInfo, Action<string, bool> onLine)
    {
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) onLine(e.Data, false); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) onLine(e.Data, true); };
        try
        {
            process.Start();
        }
        catch
        {
            process.Dispose();
            throw;
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
