namespace Modal.EndToEnd;

/// <summary>
/// The podman-aot kind's two NativeAOT programs, published from this repository with <c>dotnet publish -c Release -r
/// linux-x64</c> (PublishAot) before anything is measured: bench/Modal.Aot.ColdPing, the app its workers run, and
/// bench/Modal.Hello as the native <c>hello</c> of its bare start. Each goes to its project's bin/aot-publish folder.
/// </summary>
internal sealed record AotBuilds(string AppFolder, string HelloFolder)
{
    /// <summary>The app's name (<c>ColdPingFunctions.AppName</c> in bench/Modal.Aot.ColdPing), as its function is called by.</summary>
    public const string AppName = "bench-aot";

    /// <summary>The app's native executable, which the server's image runs as its entrypoint.</summary>
    public const string AppExecutable = "Modal.Aot.ColdPing";

    /// <summary>The native hello of the bare start.</summary>
    public const string HelloExecutable = "hello";

    private static readonly TimeSpan s_publishTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan s_deployTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Publishes both (incrementally; NativeAOT code generation takes a minute or more each on two cores).</summary>
    public static async Task<AotBuilds> PublishAsync()
    {
        string bench = Path.Combine(RepositoryRoot(), "bench");
        return new AotBuilds(
            await PublishAsync(Path.Combine(bench, "Modal.Aot.ColdPing"), AppExecutable),
            await PublishAsync(Path.Combine(bench, "Modal.Hello"), HelloExecutable));
    }

    /// <summary>
    /// Deploys the app to <paramref name="serverUrl"/> by running its native executable with <c>MODAL_DEPLOY=1</c>, as
    /// <c>modal deploy</c>'s upload path does: the build output goes up, and a podman control plane builds its image.
    /// The token is this process's (<c>MODAL_TOKEN_ID</c> and <c>MODAL_TOKEN_SECRET</c>, set by <see cref="StandaloneServer"/>).
    /// </summary>
    public async Task DeployAsync(string serverUrl)
    {
        string executable = Path.Combine(AppFolder, AppExecutable);
        var deploy = await Command.RunAsync(executable, [], s_deployTimeout,
            new Dictionary<string, string?> { ["MODAL_DEPLOY"] = "1", ["MODAL_SERVER_URL"] = serverUrl, ["MODAL_WORKER"] = null });
        if (deploy.ExitCode != 0)
        {
            throw new InvalidOperationException($"MODAL_DEPLOY=1 {executable} exited with {deploy.ExitCode}:\n{deploy.Output}{deploy.Errors}");
        }
    }

    private static async Task<string> PublishAsync(string project, string executable)
    {
        string folder = Path.Combine(project, "bin", "aot-publish");
        await Console.Error.WriteLineAsync($"cold start: publishing {Path.GetFileName(project)} with NativeAOT to {folder}");
        var publish = await Command.RunAsync(DotnetHost.Path, ["publish", project, "-c", "Release", "-r", "linux-x64", "-o", folder, "-nologo"], s_publishTimeout);
        if (publish.ExitCode != 0 || !File.Exists(Path.Combine(folder, executable)) || File.Exists(Path.Combine(folder, executable + ".dll")))
        {
            throw new InvalidOperationException(
                $"dotnet publish {project} -r linux-x64 exited with {publish.ExitCode} and left no native {executable} alone in {folder}:\n{publish.Output}{publish.Errors}");
        }
        return folder;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Modal.Generators.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No Modal.Generators.sln above {AppContext.BaseDirectory}: the podman-aot kind publishes bench/Modal.Aot.ColdPing and bench/Modal.Hello from the repository.");
    }
}
