using System.Text;
using System.Text.Json;

namespace Modal.Hosting;

/// <summary>
/// How <c>modal run</c> learns which apps the project it started runs: the tool names a file in <c>MODAL_RUN_REPORT</c>,
/// and each app this process registers on a control plane appends one JSON line to it
/// (<c>{"appId":"ap-…","appName":"…","kind":"ephemeral"|"deployed","serverUrl":"…"}</c>). Ids are exact where names may repeat
/// (two runs of one project at once). An app on a control plane this process embeds adds that control plane's token
/// (<c>"tokenId"</c>, <c>"tokenSecret"</c>), which the tool cannot know otherwise: the file is created readable by its owner only,
/// in the folder the tool made for this run (also its owner's only). Shared with the tool (linked source), which reads the
/// file as it grows.
/// </summary>
internal static class RunReport
{
    /// <summary>The variable naming the file; unset outside <c>modal run</c>, and then nothing is written.</summary>
    public const string Variable = "MODAL_RUN_REPORT";

    private static readonly Lock s_lock = new();

    /// <summary>A control plane's token, for an app on an embedded control plane.</summary>
    public sealed record Token(string Id, string Secret);

    /// <summary>One registered app, as a line of the file says it; <paramref name="Token"/> only for an embedded control plane.</summary>
    public sealed record Entry(string AppId, string AppName, string Kind, string ServerUrl, Token? Token = null);

    /// <summary>Appends an app to the file <c>MODAL_RUN_REPORT</c> names, if any; a file that cannot be written only costs the tool its progress display.</summary>
    public static void Append(string appId, string appName, bool deployed, string serverUrl, Token? token = null)
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } path)
        {
            return;
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("appId", appId);
            json.WriteString("appName", appName);
            json.WriteString("kind", deployed ? "deployed" : "ephemeral");
            json.WriteString("serverUrl", serverUrl);
            if (token is not null)
            {
                json.WriteString("tokenId", token.Id);
                json.WriteString("tokenSecret", token.Secret);
            }
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        try
        {
            lock (s_lock)
            {
                // One write of the whole line, so that a reader never sees half of it followed by another app's line.
                var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }
                using var file = new FileStream(path, options);
                file.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // The tool shows no progress then; the app runs as it would without it.
        }
    }

    /// <summary>The entries of the complete lines of <paramref name="text"/> (a line still being written is left for the next read).</summary>
    public static IReadOnlyList<Entry> Parse(string text)
    {
        var entries = new List<Entry>();
        int end = text.LastIndexOf('\n');
        if (end < 0)
        {
            return entries;
        }
        foreach (string line in text[..end].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            try
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                var token = Text(root, "tokenId") is { Length: > 0 } tokenId ? new Token(tokenId, Text(root, "tokenSecret")) : null;
                entries.Add(new Entry(Text(root, "appId"), Text(root, "appName"), Text(root, "kind"), Text(root, "serverUrl"), token));
            }
            catch (JsonException)
            {
                // Not a line this format writes: skipped.
            }
        }
        return entries;
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;

    /// <summary>UTF-8 without a byte order mark, as the lines are written.</summary>
    public static string Read(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(file, new UTF8Encoding(false));
        return reader.ReadToEnd();
    }
}
