using System.Text.RegularExpressions;

namespace Modal.Server.Images;

/// <summary>
/// What a worker image holds and says about itself, whoever builds it (<c>modal deploy</c> with the SDK's
/// <c>PublishContainer</c>, or the server with buildah from an uploaded artifact): the app's publish output in
/// <see cref="AppDirectory"/>, the entrypoint <c>dotnet /app/ENTRY.dll</c> (the app's own Main, which serves as a worker
/// when the launcher's environment says so), and labels naming the app, its functions and their signatures, and the
/// environment a launcher must give the worker.
/// </summary>
public static partial class WorkerImage
{
    /// <summary>Where the app's files are in the image (its working directory).</summary>
    public const string AppDirectory = "/app/";

    /// <summary>The label naming the app.</summary>
    public const string AppLabel = "dev.modal.app";

    /// <summary>The label naming the entry assembly (e.g. <c>App.dll</c>).</summary>
    public const string EntrypointLabel = "dev.modal.entrypoint";

    /// <summary>The label listing the app's functions, comma-separated, sorted.</summary>
    public const string FunctionsLabel = "dev.modal.functions";

    /// <summary>The prefix of one label per function whose value is its signature (<c>dev.modal.function.Square</c>).</summary>
    public const string FunctionLabelPrefix = "dev.modal.function.";

    /// <summary>The label listing the variables the worker reads from its launcher (the environment contract).</summary>
    public const string EnvironmentLabel = "dev.modal.worker-environment";

    /// <summary>The variables every launcher sets for a worker (space-separated in <see cref="EnvironmentLabel"/>).</summary>
    public static readonly IReadOnlyList<string> WorkerEnvironment =
        ["MODAL_WORKER", "MODAL_SERVER_URL", "MODAL_CONTAINER_ID", "MODAL_CONTAINER_TOKEN", "MODAL_APP_ID", "MODAL_APP_NAME", "MODAL_FUNCTION_NAME"];

    /// <summary>The image's entrypoint: <c>dotnet /app/ENTRY.dll</c>, or a NativeAOT app's executable itself (<c>/app/ENTRY</c>).</summary>
    public static IReadOnlyList<string> Entrypoint(string entryAssembly)
        => IsManagedEntrypoint(entryAssembly) ? ["dotnet", AppDirectory + entryAssembly] : [AppDirectory + entryAssembly];

    /// <summary>True for an entry assembly that <c>dotnet</c> runs; false for a NativeAOT executable.</summary>
    public static bool IsManagedEntrypoint(string entrypoint) => entrypoint.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);

    /// <summary>The labels of an app's worker image.</summary>
    /// <param name="appName">The app.</param>
    /// <param name="entryAssembly">Its entry assembly, e.g. <c>App.dll</c>.</param>
    /// <param name="functions">Each function's name and signature (<c>Square(int x) -> int</c>).</param>
    public static IReadOnlyDictionary<string, string> Labels(string appName, string entryAssembly, IEnumerable<(string Name, string Signature)> functions)
    {
        var sorted = functions.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [AppLabel] = appName,
            [EntrypointLabel] = entryAssembly,
            [FunctionsLabel] = string.Join(',', sorted.Select(f => f.Name)),
            [EnvironmentLabel] = string.Join(' ', WorkerEnvironment),
        };
        foreach (var (name, signature) in sorted)
        {
            labels[FunctionLabelPrefix + name] = signature;
        }
        return labels;
    }

    /// <summary>The repository an app's images go to in <paramref name="registry"/>: <c>REGISTRY/modal-apps/NAME</c>, the name made a valid path.</summary>
    public static string Repository(string registry, string appName) => $"{registry.TrimEnd('/')}/modal-apps/{RepositoryName(appName)}";

    /// <summary>An app name as a repository path component: lower case letters, digits and <c>.-_</c>, starting with a letter or digit.</summary>
    public static string RepositoryName(string appName)
    {
        string name = NotAllowed().Replace(appName.ToLowerInvariant(), "-").Trim('-', '.', '_');
        return name.Length == 0 ? "app" : name.Length > 100 ? name[..100].TrimEnd('-', '.', '_') : name;
    }

    /// <summary>Whether <paramref name="image"/> is pinned by digest (<c>NAME@sha256:</c> and 64 hex digits), so that a version never changes.</summary>
    public static bool IsPinned(string image) => Pinned().IsMatch(image);

    /// <summary>Whether the image's registry is this machine's (<c>localhost</c>, <c>127.0.0.1</c>, <c>[::1]</c>), which serves plain HTTP.</summary>
    public static bool IsLoopbackRegistry(string image)
    {
        string host = image.Split('/')[0];
        int colon = host.LastIndexOf(':');
        if (colon > 0 && !host.EndsWith(']'))
        {
            host = host[..colon];
        }
        return host is "localhost" or "127.0.0.1" or "[::1]";
    }

    [GeneratedRegex("[^a-z0-9._-]+")]
    private static partial Regex NotAllowed();

    [GeneratedRegex("^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?@sha256:[0-9a-f]{64}$")]
    private static partial Regex Pinned();
}
