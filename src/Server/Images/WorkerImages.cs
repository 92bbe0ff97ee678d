using Microsoft.Extensions.Logging;
using Modal.Api;
using Modal.Server.Artifacts;
using Modal.Server.Services;

namespace Modal.Server.Images;

/// <summary>
/// The server's side of worker images: the registry and base image it names (<see cref="ImageConfigGet"/>, which
/// <c>modal deploy</c> asks before it builds), the check of an image a client names (pinned by digest), and the image
/// built from an artifact when a deploy brings none.
/// </summary>
internal sealed class WorkerImages(ControlPlaneOptions options, ArtifactStore artifacts, ILogger<WorkerImages> logger)
{
    private readonly ArtifactImageBuilder? _builder =
        options.ImageRegistry is { } registry ? new ArtifactImageBuilder(registry, options.WorkerBaseImage!) : null;

    /// <summary>The launcher's name, as <c>--launcher</c> spells it.</summary>
    private string Launcher => options.Podman is not null ? "podman" : options.Kubernetes is not null ? "kubernetes" : "process";

    /// <summary>Whether the launcher runs images only (podman, Kubernetes).</summary>
    public bool Required => options.Podman is not null || options.Kubernetes is not null;

    /// <summary>What <c>ImageConfigGet</c> answers.</summary>
    public ImageConfigGetResponse ImageConfigGet() => new()
    {
        Registry = options.ImageRegistry ?? "",
        BaseImage = options.WorkerBaseImage ?? "",
        Launcher = Launcher,
        ImagesRequired = Required,
    };

    /// <summary>
    /// The image to record with an app: the one the client names (pinned by digest), else one built from the app's
    /// artifact when the app is deployed or the launcher needs it, else none.
    /// </summary>
    /// <param name="request">The AppCreate request (name, kind, functions and the requested launch).</param>
    /// <param name="launch">The launch the server resolved (its artifact and entrypoint).</param>
    public async Task<string> ImageForAsync(AppCreateRequest request, WorkerLaunchSpec launch)
    {
        string named = request.Launch?.Image ?? "";
        if (named.Length > 0)
        {
            RequestLimits.Optional(named, "launch.image", "AppCreate");
            if (!WorkerImage.IsPinned(named))
            {
                throw Errors.Invalid(
                    $"AppCreate: launch.image '{named}' is not pinned by digest (NAME@sha256:<64 hex digits>): a version's image must never change. " +
                    "Push the image and name it by the digest the push reports (modal deploy does).");
            }
            return named;
        }
        if (request.Functions.Count == 0)
        {
            return ""; // a client-only app (modal call, a host's connection) launches nothing
        }
        bool wanted = request.Kind == AppKind.Deployed || Required;
        if (!wanted || launch.ArtifactDigest.Length == 0 || _builder is null)
        {
            return Required
                ? throw Errors.FailedPrecondition(
                    $"AppCreate: app '{request.Name}' brings no worker image, and this server's {Launcher} launcher runs images only. " +
                    (_builder is null
                        ? "Start the server with --registry HOST:PORT so that deploys build one, then deploy again (modal deploy)."
                        : "Deploy it with modal deploy, or upload its build output (ModalApp.RunAsync and DeployAsync do) so that the server builds one."))
                : "";
        }
        string tree = await artifacts.TreeAsync(launch.ArtifactDigest).ConfigureAwait(false)
            ?? throw Errors.FailedPrecondition($"AppCreate: the files of artifact {launch.ArtifactDigest} are not all on this server; upload it again.");
        var labels = WorkerImage.Labels(request.Name, launch.Entrypoint, request.Functions.Select(f => (f.Name, f.Signature)));
        try
        {
            string image = await _builder.BuildAsync(tree, launch.ArtifactDigest, labels, launch.Entrypoint, request.Name).ConfigureAwait(false);
            logger.LogInformation("Built worker image {Image} for app {App} from artifact {Artifact}", image, request.Name, launch.ArtifactDigest);
            return image;
        }
        catch (InvalidOperationException exception)
        {
            logger.LogWarning(exception, "Could not build the worker image of app {App}", request.Name);
            throw Errors.FailedPrecondition($"AppCreate: app '{request.Name}': {exception.Message}");
        }
    }
}
