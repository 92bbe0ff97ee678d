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

    /// <summary>Deploys under <paramref name="deploy"/> (<c>1</c>: the app's own name); 0 on success, 1 with the reason on stderr.</summary>
    public static async Task<int> RunAsync(string deploy, ModalAppOptions options)
    {
        string? name = deploy == "1" ? null : deploy;
        int uploadedBefore = ArtifactUploader.FilesUploaded;
        try
        {
            await using var app = await ModalApp.DeployAsync(name, options).ConfigureAwait(false);
            int uploaded = ArtifactUploader.FilesUploaded - uploadedBefore;
            Console.WriteLine($"Deployed app '{app.Name}' version {app.Version} (artifact {app.ArtifactDigest}, {uploaded} file(s) uploaded) to {app.Location}.");
            if (Environment.GetEnvironmentVariable(ResultVariable) is { Length: > 0 } path)
            {
                await using var file = File.Create(path);
                await using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
                json.WriteStartObject();
                json.WriteString("appName", app.Name);
                json.WriteString("appId", app.AppId);
                json.WriteNumber("version", app.Version ?? 0);
                json.WriteString("artifactDigest", app.ArtifactDigest);
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
}
