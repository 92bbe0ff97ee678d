namespace Modal.Generator.Tests;

/// <summary>
/// Finds the repository's files from the test assembly's folder. Source paths baked in at compile time
/// (<c>[CallerFilePath]</c>) are useless here: with <c>CI=true</c> the build is deterministic and maps them to <c>/_/</c>.
/// </summary>
internal static class RepositoryPaths
{
    private const string Marker = "Modal.Generators.sln";

    public static string Root { get; } = FindRoot();

    public static string TestProject => Path.Combine(Root, "tests", "Modal.Generator.Tests");

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, Marker)))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No {Marker} above {AppContext.BaseDirectory}; run the tests from a clone of the repository.");
    }
}
