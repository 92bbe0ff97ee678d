using System.Globalization;

namespace Modal.EndToEnd;

/// <summary>
/// A bare start of the same kind as a worker, timed from process start to exit: <c>dotnet hello.dll</c> (the trivial
/// program of bench/Modal.Hello, copied beside this runner), or the same in a <c>podman run --rm</c> of the workers' base
/// image with the limits and confinement the podman launcher gives a worker (PodmanLauncher.RunArguments), or there the
/// NativeAOT hello (bench/Modal.Hello published with PublishAot) as <c>/app/hello</c>.
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
        => InPodman(baseImage, AppContext.BaseDirectory, s_helloFiles, ["dotnet", "/app/hello.dll"]);

    /// <summary>
    /// The same <c>podman run --rm</c> running the NativeAOT hello published to <paramref name="publishFolder"/> as
    /// <c>/app/hello</c>, without dotnet, as the podman launcher runs a NativeAOT app's executable.
    /// </summary>
    public static BareStart PodmanAot(string baseImage, string publishFolder)
        => InPodman(baseImage, publishFolder, [AotBuilds.HelloExecutable], ["/app/" + AotBuilds.HelloExecutable]);

    private static BareStart InPodman(string baseImage, string source, IReadOnlyList<string> files, IReadOnlyList<string> command)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The podman launcher and this bare start run on Linux only.");
        }
        // The files go to a folder of their own that the container's user (nobody) may read, and run (the native hello).
        const UnixFileMode readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        var folder = Directory.CreateTempSubdirectory("modal-bench-hello-").FullName;
        File.SetUnixFileMode(folder, readable);
        foreach (var file in files)
        {
            File.Copy(Path.Combine(source, file), Path.Combine(folder, file));
            File.SetUnixFileMode(Path.Combine(folder, file), readable);
        }
        string memory = EndToEndFunctions.ColdMemoryMb.ToString(CultureInfo.InvariantCulture) + "m";
        string[] arguments =
        [
            "run", "--rm", "--pull=missing", "--tls-verify=false",
            "--network=none", "--read-only", "--read-only-tmpfs=true", "--cap-drop=all", "--security-opt=no-new-privileges",
            "--user", "65534:65534",
            "--cpus=" + EndToEndFunctions.ColdCpu.ToString("0.###", CultureInfo.InvariantCulture), "--memory=" + memory, "--memory-swap=" + memory,
            "--mount", $"type=bind,source={folder},destination=/app,readonly=true",
            baseImage, .. command,
        ];
        return new BareStart($"podman run --rm {baseImage} {string.Join(' ', command)}", "podman", arguments, folder);
    }

    /// <summary>Starts the program, waits for it to exit, checks that it said hello, and returns the milliseconds it took.</summary>
    public async Task<double> RunAsync()
    {
        var run = await Command.RunAsync(_program, _arguments, s_timeout);
        if (run.ExitCode != 0 || run.Output.Trim() != "hello")
        {
            throw new InvalidOperationException($"{Description} exited with {run.ExitCode} and did not say hello: {run.Output}{run.Errors}");
        }
        return run.ElapsedMs;
    }

    public void Dispose()
    {
        if (_folder is not null)
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
