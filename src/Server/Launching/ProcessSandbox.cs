namespace Modal.Server.Launching;

/// <summary>
/// How <see cref="LocalProcessLauncher"/> confines workers: a minimal environment of its own (never the server's), and,
/// where bubblewrap (<c>bwrap</c>) is installed, a read-only view of the machine with a private <c>/tmp</c>, private
/// process, IPC and host-name namespaces, and the server's data directories hidden.
/// </summary>
/// <param name="HiddenPaths">Directories the worker must not see (the database's, the blobs'); each is replaced by an empty one.</param>
/// <param name="ReadOnlyPaths">Directories and files shown read-only even inside hidden ones (the stored artifacts, the .NET installation, the CA certificate).</param>
/// <param name="Environment">Variables every worker gets besides the base ones (<c>MODAL_CA_CERT</c> when the server serves TLS).</param>
/// <param name="WritablePaths">Directories the worker may write, shared with the host on purpose (<c>--worker-bind</c>).</param>
public sealed record ProcessSandbox(IReadOnlyList<string> HiddenPaths, IReadOnlyList<string> ReadOnlyPaths,
    IReadOnlyDictionary<string, string>? Environment = null, IReadOnlyList<string>? WritablePaths = null)
{
    /// <summary>The variables a worker gets besides its launch request's: a fixed PATH, HOME and locale, and where .NET is.</summary>
    public static IReadOnlyDictionary<string, string> BaseEnvironment()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ["HOME"] = "/tmp",
            ["TMPDIR"] = "/tmp",
            ["LANG"] = "C.UTF-8",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        if (DotnetRoot() is { } root)
        {
            environment["DOTNET_ROOT"] = root;
        }
        return environment;
    }

    /// <summary>The directory of the .NET host running this process, when it is one.</summary>
    public static string? DotnetRoot()
    {
        string? process = System.Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return Path.GetDirectoryName(Path.GetFullPath(process));
        }
        return System.Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root ? root : null;
    }

    /// <summary>The bubblewrap executable, or null when it is not installed (then workers run with the minimal environment only).</summary>
    public static string? Bubblewrap() =>
        new[] { "/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap" }.FirstOrDefault(File.Exists);

    /// <summary>The bwrap arguments that put <paramref name="executable"/> in the sandbox.</summary>
    internal IReadOnlyList<string> WrapArguments(string executable, IReadOnlyList<string> arguments, string workingDirectory)
    {
        var wrapped = new List<string>
        {
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session",
        };
        foreach (string hidden in HiddenPaths.Where(Directory.Exists).Select(Path.GetFullPath).Distinct(StringComparer.Ordinal))
        {
            wrapped.AddRange(["--tmpfs", hidden]);
        }
        foreach (string visible in ReadOnlyPaths.Where(Path.Exists).Select(Path.GetFullPath).Distinct(StringComparer.Ordinal))
        {
            wrapped.AddRange(["--ro-bind", visible, visible]);
        }
        foreach (string writable in (WritablePaths ?? []).Where(Directory.Exists).Select(Path.GetFullPath).Distinct(StringComparer.Ordinal))
        {
            wrapped.AddRange(["--bind", writable, writable]);
        }
        if (!string.IsNullOrEmpty(workingDirectory))
        {
            wrapped.AddRange(["--chdir", workingDirectory]);
        }
        wrapped.Add("--");
        wrapped.Add(executable);
        wrapped.AddRange(arguments);
        return wrapped;
    }
}
