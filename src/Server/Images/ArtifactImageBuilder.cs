using System.Text.Json;
using Modal.Server.Launching;

namespace Modal.Server.Images;

/// <summary>
/// Builds a worker image from an uploaded artifact with buildah, when a client deploys without an image of its own
/// (<c>ModalApp.DeployAsync</c> from a running app): the base image the server names, the artifact's files in
/// <see cref="WorkerImage.AppDirectory"/>, the same entrypoint and labels as <c>modal deploy</c>'s <c>PublishContainer</c>
/// image, pushed to the server's registry and returned pinned by digest.
/// </summary>
/// <param name="registry">Where images are pushed (<c>--registry</c>).</param>
/// <param name="baseImage">The image they start from (<c>--base-image</c>).</param>
internal sealed class ArtifactImageBuilder(string registry, string baseImage)
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The tool; <c>buildah</c> on the PATH.</summary>
    public string Buildah { get; init; } = "buildah";

    /// <summary>Builds and pushes the image of an artifact; returns <c>REGISTRY/modal-apps/NAME@sha256:…</c>.</summary>
    /// <param name="tree">The artifact's directory on this server.</param>
    /// <param name="artifactDigest">Its digest (<c>sha256-…</c>), for the tag.</param>
    /// <param name="labels">From <see cref="WorkerImage.Labels"/>.</param>
    /// <param name="entryAssembly">The entry assembly in the artifact.</param>
    /// <param name="appName">The app, for the repository.</param>
    /// <exception cref="InvalidOperationException">A buildah step failed; the message has its error and what to check.</exception>
    public async Task<string> BuildAsync(string tree, string artifactDigest, IReadOnlyDictionary<string, string> labels, string entryAssembly, string appName)
    {
        string repository = WorkerImage.Repository(registry, appName);
        string tag = $"{repository}:artifact-{artifactDigest.Replace("sha256-", "", StringComparison.Ordinal)[..16]}";
        string container = (await StepAsync("pull the base image", ["from", "--quiet", TlsVerify(baseImage), baseImage]).ConfigureAwait(false)).Trim();
        bool committed = false;
        try
        {
            await StepAsync("copy the app into the image", ["copy", "--quiet", container, tree + "/.", WorkerImage.AppDirectory]).ConfigureAwait(false);
            var config = new List<string>
            {
                "config", "--entrypoint", JsonSerializer.Serialize(WorkerImage.Entrypoint(entryAssembly)),
                "--workingdir", WorkerImage.AppDirectory,
            };
            foreach (var (key, value) in labels)
            {
                config.AddRange(["--label", $"{key}={value}"]);
            }
            config.Add(container);
            await StepAsync("configure the image", config).ConfigureAwait(false);
            await StepAsync("commit the image", ["commit", "--quiet", "--rm", "--format", "oci", container, tag]).ConfigureAwait(false);
            committed = true;
            string digestFile = Path.GetTempFileName();
            try
            {
                await StepAsync($"push the image to {registry}",
                    ["push", "--quiet", TlsVerify(tag), "--digestfile", digestFile, tag, "docker://" + tag]).ConfigureAwait(false);
                string digest = (await File.ReadAllTextAsync(digestFile).ConfigureAwait(false)).Trim();
                return $"{repository}@{digest}";
            }
            finally
            {
                File.Delete(digestFile);
            }
        }
        finally
        {
            if (!committed)
            {
                await ExternalCommand.RunAsync(Buildah, ["rm", container], StepTimeout).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A loopback registry serves plain HTTP; any other is reached over TLS.</summary>
    internal static string TlsVerify(string image) => WorkerImage.IsLoopbackRegistry(image) ? "--tls-verify=false" : "--tls-verify=true";

    private async Task<string> StepAsync(string what, IReadOnlyList<string> arguments)
    {
        var result = await ExternalCommand.RunAsync(Buildah, arguments, StepTimeout).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"Could not build the worker image: buildah could not {what} (exit code {result.ExitCode}): {result.Tail}. " +
                $"Check that the registry {registry} is up and holds the base image {baseImage} (--registry, --base-image).");
        }
        return result.Output;
    }
}
