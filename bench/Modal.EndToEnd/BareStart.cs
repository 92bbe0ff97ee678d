using System.Diagnostics;
using System.Globalization;

namespace Modal.EndToEnd;

/// <summary>
/// A bare start of the same kind as a worker, timed from process start to exit: <c>dotnet hello.dll</c> (the trivial
/// program of bench/Modal.Hello, copied beside this runner), or the same in a <c>podman run --rm</c> of the workers' base
/// image with the limits and confinement the podman launcher gives a worker (PodmanLauncher.RunArguments).
/// </summary>
internal sealed class BareStart : IDisposable
{
    private static readonly string[] s_helloFiles = ["hello.dll", "hello.runtimeconfig.json", "hello.deps.json"];
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    private readonly string _program;
    private readonly IReadOnlyList<string> _arguments;
    private readonly string? _folder;

    private BareStart(string description, string program, IReadOnlyList<string> arguments, string? folder)
    {
        Description = description;
        _program = program;
        _arguments = arguments;
        _folder = folder;
    }

    /// <summary>What is started, as a command line.</summary>
    public string Description { get; }

    /// <summary><c>dotnet hello.dll</c> with the host that runs this runner.</summary>
    public static BareStart Process()
    {
        string hello = Path.Combine(AppContext.BaseDirectory, "hello.dll");
        return new BareStart("dotnet hello.dll", DotnetHost.Path, [hello], folder: null);
    }

    /// <summary>
    /// <c>podman run --rm</c> of <paramref name="baseImage"/> running hello.dll from a read-only bind mount at /app, with a
    /// worker's confinement (no network, read-only root, no capabilities, user nobody) and the cold-start function's limits.
    /// </summary>
    public static BareStart Podman(string baseImage)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The podman launcher and this bare start run on Linux only.");
        }
        // The files go to a folder of their own that the container's user (nobody) may read.
        var folder = Directory.CreateTempSubdirectory("modal-bench-hello-").FullName;
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        foreach (var file in s_helloFiles)
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, file), Path.Combine(folder, file));
            File.SetUnixFileMode(Path.Combine(folder, file), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        string memory = EndToEndFunctions.ColdMemoryMb.ToString(CultureInfo.InvariantCulture) + "m";
        string[] arguments =
        [
            "run", "--rm", "--pull=missing", "--tls-verify=false",
            "--network=none", "--read-only", "--read-only-tmpfs=true", "--cap-drop=all", "--security-opt=no-new-privileges",
            "--user", "65534:65534",
            "--cpus=" + EndToEndFunctions.ColdCpu.ToString("0.###", CultureInfo.InvariantCulture), "--memory=" + memory, "--memory-swap=" + memory,
            "--mount", $"type=bind,source={folder},destination=/app,readonly=true",
            baseImage, "dotnet", "/app/hello.dll",
        ];
        return new BareStart($"podman run --rm {baseImage} dotnet /app/hello.dll", "podman", arguments, folder);
    }

    /// <summary>Starts the program, waits for it to exit, checks that it said hello, and returns the milliseconds it took.</summary>
    public async Task<double> RunAsync()
    {
        var start = new ProcessStartInfo(_program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in _arguments)
        {
            start.ArgumentList.Add(argument);
        }
        var started = Stopwatch.GetTimestamp();
        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"{_program} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(s_timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Description} did not exit within {s_timeout.TotalSeconds:0} s.");
        }
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (process.ExitCode != 0 || (await output).Trim() != "hello")
        {
            throw new InvalidOperationException($"{Description} exited with {process.ExitCode} and did not say hello: {await output}{await errors}");
        }
        return elapsed;
    }

    public void Dispose()
    {
        if (_folder is not null)
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
