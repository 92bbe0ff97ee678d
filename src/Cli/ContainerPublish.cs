using System.Globalization;
using System.Security;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Modal.Api;
using Modal.Server.Images;

namespace Modal.Cli;

/// <summary>
/// The worker image of <c>modal deploy</c>: the project published again with the .NET SDK's <c>/t:PublishContainer</c>, from
/// the base image the control plane names (or the project's own <c>ContainerBaseImage</c>), with the labels of
/// <see cref="WorkerImage"/> (the app, its functions and their signatures, the worker environment), pushed to the control
/// plane's registry; returned pinned by the digest the push reports.
/// </summary>
internal static partial class ContainerPublish
{
    /// <summary>What the published app says about itself (<c>MODAL_DEPLOY_DESCRIBE</c>): its name, entry assembly and functions.</summary>
    public sealed record AppDescription(string AppName, string EntryAssembly, IReadOnlyList<(string Name, string Signature)> Functions)
    {
        public static AppDescription Parse(string json)
        {
            var root = JsonNode.Parse(json)!.AsObject();
            return new AppDescription(
                (string)root["appName"]!, (string)root["entryAssembly"]!,
                [.. root["functions"]!.AsArray().Select(f => ((string)f!["name"]!, (string)f["signature"]!))]);
        }
    }

    /// <summary>Publishes the project as a container image and pushes it; returns <c>REGISTRY/REPOSITORY@sha256:…</c>.</summary>
    /// <param name="publishArguments">The arguments of the plain publish (project, configuration, properties, output folder).</param>
    /// <param name="userProperties">The <c>NAME=VALUE</c> properties given with <c>--property</c> (a <c>ContainerBaseImage</c> among them wins).</param>
    /// <param name="workFolder">Where the labels file is written.</param>
    /// <param name="app">What the published app said about itself.</param>
    /// <param name="appName">The deployed app's name (<c>--name</c>, else the app's own).</param>
    /// <param name="config">The control plane's registry and base image.</param>
    /// <param name="connection">The control plane, for the environment of <c>dotnet</c>.</param>
    /// <param name="cancellationToken">Ctrl+C.</param>
    public static async Task<string> PublishAsync(IReadOnlyList<string> publishArguments, IReadOnlyList<string> userProperties, string workFolder,
        AppDescription app, string appName, ImageConfigGetResponse config, Connection connection, CancellationToken cancellationToken)
    {
        string repositoryPath = WorkerImage.Repository(config.Registry, appName);
        int slash = repositoryPath.IndexOf('/', StringComparison.Ordinal);
        string registry = repositoryPath[..slash];
        string repository = repositoryPath[(slash + 1)..];
        string labels = Path.Combine(workFolder, "modal-image-labels.targets");
        await File.WriteAllTextAsync(labels, LabelsTargets(WorkerImage.Labels(appName, app.EntryAssembly, app.Functions)), cancellationToken);
        var arguments = new List<string>(publishArguments)
        {
            "-t:PublishContainer",
            "-p:ContainerRegistry=" + registry,
            "-p:ContainerRepository=" + repository,
            "-p:ContainerImageTag=deploy-" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture),
            "-p:CustomAfterMicrosoftCommonTargets=" + labels,
            "-getProperty:GeneratedContainerDigest",
        };
        if (!userProperties.Any(property => property.StartsWith("ContainerBaseImage=", StringComparison.OrdinalIgnoreCase)))
        {
            arguments.Add("-p:ContainerBaseImage=" + config.BaseImage);
        }
        var environment = new Dictionary<string, string>();
        if (WorkerImage.IsLoopbackRegistry(repositoryPath))
        {
            // A loopback registry serves plain HTTP; the SDK trusts localhost alone without being told.
            environment["DOTNET_CONTAINER_INSECURE_REGISTRIES"] = registry;
        }
        var published = await Dotnet.RunAsync(arguments, connection, capture: true, cancellationToken, environment);
        var digest = published.Output.Split('\n').Select(line => line.Trim()).LastOrDefault(line => Digest().IsMatch(line));
        if (published.ExitCode != 0 || digest is null)
        {
            await Console.Error.WriteAsync(published.Output);
            throw new FailedException(
                $"'dotnet publish -t:PublishContainer' could not build or push the worker image to {config.Registry} (exit code {published.ExitCode}); " +
                $"its output is above. Check that the registry is up and holds the base image {config.BaseImage}, or set another with --property ContainerBaseImage=IMAGE.");
        }
        return $"{repositoryPath}@{digest}";
    }

    /// <summary>An MSBuild file that adds the labels as <c>ContainerLabel</c> items, their values escaped for XML and MSBuild.</summary>
    private static string LabelsTargets(IReadOnlyDictionary<string, string> labels)
    {
        var text = new StringBuilder("<Project>\n  <ItemGroup>\n");
        foreach (var (key, value) in labels)
        {
            text.Append(CultureInfo.InvariantCulture, $"    <ContainerLabel Include=\"{SecurityElement.Escape(key)}\" Value=\"{SecurityElement.Escape(MsBuildEscape(value))}\" />\n");
        }
        return text.Append("  </ItemGroup>\n</Project>\n").ToString();
    }

    private static string MsBuildEscape(string value)
    {
        var escaped = new StringBuilder(value.Length);
        foreach (char c in value)
        {
            escaped.Append(c is '%' or '$' or '@' or '\'' or ';' or '?' or '*' ? $"%{(int)c:X2}" : c.ToString());
        }
        return escaped.ToString();
    }

    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex Digest();
}
