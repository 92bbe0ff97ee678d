namespace Modal.Packages.Tests;

/// <summary>
/// The repository's packages (Modal, Modal.Server, Modal.Cli) packed with `dotnet pack --no-build` into a folder feed,
/// under a version no earlier run used, so that NuGet's global cache cannot hand back an older build. The cached copies
/// of that version are removed on dispose.
/// </summary>
public sealed class LocalFeed : IDisposable
{
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(4);

    public LocalFeed()
    {
        RepositoryRoot = FindRepositoryRoot();
        Configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        Version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        Root = Directory.CreateTempSubdirectory("modal-packages-test-").FullName;
        Folder = Directory.CreateDirectory(Path.Combine(Root, "feed")).FullName;
        foreach (var project in new[] { "src/Runtime/Modal.Runtime.csproj", "src/Server/Modal.Server.csproj", "src/Cli/Modal.Cli.csproj" })
        {
            PackOutput += CommandRunner.RunCheckedAsync(
                "dotnet",
                ["pack", Path.Combine(RepositoryRoot, project), "--no-build", "-c", Configuration, "-o", Folder, $"-p:PackageVersion={Version}"],
                RepositoryRoot, CommandTimeout).GetAwaiter().GetResult();
        }
        // Packages are restored through the machine's configured feed, plus this folder.
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="modal-local" value="{Folder}" />
              </packageSources>
            </configuration>
            """);
    }

    /// <summary>The clone the packages are made from.</summary>
    public string RepositoryRoot { get; }

    /// <summary>The build configuration of these tests, and so of the packed projects.</summary>
    public string Configuration { get; }

    /// <summary>The version every package of this run has.</summary>
    public string Version { get; }

    /// <summary>A temporary folder outside the repository holding the feed, the nuget.config and the apps.</summary>
    public string Root { get; }

    /// <summary>The folder feed.</summary>
    public string Folder { get; }

    /// <summary>What `dotnet pack` printed.</summary>
    public string PackOutput { get; } = string.Empty;

    public void Dispose()
    {
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in new[] { "modal", "modal.server", "modal.cli" })
        {
            TryDelete(Path.Combine(cache, id, Version));
        }
        TryDelete(Root);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A worker process still holding a file; the temporary folder is the system's to clean.
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Modal.Generators.sln")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException($"No Modal.Generators.sln above {AppContext.BaseDirectory}.");
    }
}
