using System.Text.Json;

namespace Modal.Hosting;

/// <summary>
/// What <see cref="ModalApp.RunAsync"/> does when <c>MODAL_DEPLOY</c> is set (as <c>modal deploy</c> sets it): deploys this
/// process's build output as the app's next version, prints the version, writes it as JSON to the file
/// <c>MODAL_DEPLOY_RESULT</c> names (for the tool), and returns the process's exit code.
/// </summary>
internal static class DeployCommand
{
    /// <summary>The file the result is written to, as JSON, when set.</summary>
    public const string ResultVariable = "MODAL_DEPLOY_RESULT";

    /// <summary>
    /// The worker image (pinned by digest) that <c>modal deploy</c> built for this version; recorded with it instead of
    /// one the server would build.
    /// </summary>
    public const string ImageVariable = "MODAL_DEPLOY_IMAGE";

    /// <summary>
    /// When set, the process deploys nothing: it writes the app's name, entry assembly and functions with their
    /// signatures to this file as JSON (what <c>modal deploy</c> labels the image with) and exits.
    /// </summary>
    public const string DescribeVariable = "MODAL_DEPLOY_DESCRIBE";

    /// <summary>The image <see cref="ImageVariable"/> names, if any.</summary>
    public static string? ImageToDeploy() => Environment.GetEnvironmentVariable(ImageVariable) is { Length: > 0 } image ? image : null;

    /// <summary>Deploys under <paramref name="deploy"/> (<c>1</c>: the app's own name); 0 on success, 1 with the reason on stderr.</summary>
    public static async Task<int> RunAsync(string deploy, ModalAppOptions options)
    {
        string? name = deploy == "1" ? null : deploy;
        if (Environment.GetEnvironmentVariable(DescribeVariable) is { Length: > 0 } describe)
        {
            await DescribeAsync(name, options, describe).ConfigureAwait(false);
            return 0;
        }
        int uploadedBefore = ArtifactUploader.FilesUploaded;
        try
        {
            await using var app = await ModalApp.DeployAsync(name, options).ConfigureAwait(false);
            int uploaded = ArtifactUploader.FilesUploaded - uploadedBefore;
            Console.WriteLine($"Deployed app '{app.Name}' version {app.Version} (artifact {app.ArtifactDigest}, {uploaded} file(s) uploaded" +
                (app.Image is { } image ? $", image {image}" : "") + $") to {app.Location}.");
            if (Environment.GetEnvironmentVariable(ResultVariable) is { Length: > 0 } path)
            {
                await using var file = File.Create(path);
                await using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
                json.WriteStartObject();
                json.WriteString("appName", app.Name);
                json.WriteString("appId", app.AppId);
                json.WriteNumber("version", app.Version ?? 0);
                json.WriteString("artifactDigest", app.ArtifactDigest);
                json.WriteString("image", app.Image ?? "");
                json.WriteNumber("filesUploaded", uploaded);
                json.WriteString("serverUrl", app.Location);
                json.WriteEndObject();
            }
            return 0;
        }
        catch (Exception exception) when (exception is ModalException or NotSupportedException or InvalidOperationException or IOException)
        {
            await Console.Error.WriteLineAsync($"{ModalApp.DeployVariable}={deploy}: the deploy failed: {exception.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>Writes what the image's labels say: the app's name, its entry assembly (relative to the build output) and its functions.</summary>
    private static async Task DescribeAsync(string? name, ModalAppOptions options, string path)
    {
        AppIdentity.EnsureEntrypointsRegistered();
        string appName = string.IsNullOrWhiteSpace(name) ? AppIdentity.ResolveAppName(options) : name;
        var entrypoints = AppIdentity.EntrypointsOf(appName);
        string entryAssembly = Path.GetRelativePath(AppContext.BaseDirectory, LaunchSpecs.EntryFile(LaunchSpecs.ForEntrypoints(entrypoints))).Replace('\\', '/');
        await using var file = File.Create(path);
        await using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("appName", appName);
        json.WriteString("entryAssembly", entryAssembly);
        json.WriteStartArray("functions");
        foreach (var function in entrypoints.SelectMany(entrypoint => entrypoint.Functions).DistinctBy(function => function.Name))
        {
            json.WriteStartObject();
            json.WriteString("name", function.Name);
            json.WriteString("signature", function.Signature);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
