using System.Globalization;
using System.Text;

namespace Modal.Hosting;

/// <summary>
/// The profile file, <c>~/.modal.toml</c> (or the file <c>MODAL_CONFIG_PATH</c> names): <c>server_url</c>,
/// <c>token_id</c> and <c>token_secret</c> as <c>key = "string"</c> lines. A strict subset of TOML: blank lines,
/// <c>#</c> comments and those three keys with double-quoted values; anything else (sections, other keys, other value
/// types) is refused with the file, the line and the fix.
/// </summary>
internal static class ProfileFile
{
    public const string PathVariable = "MODAL_CONFIG_PATH";
    public const string ServerUrl = "server_url";
    public const string TokenId = "token_id";
    public const string TokenSecret = "token_secret";

    private static readonly string[] s_keys = [ServerUrl, TokenId, TokenSecret];

    /// <summary>The file: <c>MODAL_CONFIG_PATH</c>, else <c>.modal.toml</c> in the home directory.</summary>
    public static string Path => Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } path
        ? path
        : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".modal.toml");

    /// <summary>The file's keys; empty when there is no file.</summary>
    /// <exception cref="ProfileFileException">The file cannot be read, or a line is not one this reader accepts.</exception>
    public static IReadOnlyDictionary<string, string> Read() => Read(Path);

    public static IReadOnlyDictionary<string, string> Read(string path)
    {
        string[] lines;
        try
        {
            if (!File.Exists(path))
            {
                return new Dictionary<string, string>();
            }
            lines = File.ReadAllLines(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new ProfileFileException($"the profile file {path} cannot be read: {exception.Message}");
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            string Where() => $"{path} line {i + 1}";
            if (line[0] == '[')
            {
                throw new ProfileFileException($"{Where()}: '{line}' starts a section, which the profile file does not have. " +
                    $"Write {string.Join(", ", s_keys)} at the top level, one 'key = \"value\"' per line.");
            }
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            string key = equals < 0 ? line : line[..equals].Trim();
            if (equals < 0)
            {
                throw new ProfileFileException($"{Where()}: '{line}' is not a 'key = \"value\"' line. Write for example {ServerUrl} = \"http://127.0.0.1:50051\".");
            }
            if (!s_keys.Contains(key))
            {
                throw new ProfileFileException($"{Where()}: '{key}' is not a profile key. The keys are {string.Join(", ", s_keys)}.");
            }
            if (values.ContainsKey(key))
            {
                throw new ProfileFileException($"{Where()}: {key} is set a second time. Keep one {key} line.");
            }
            values[key] = ParseString(line[(equals + 1)..].Trim())
                ?? throw new ProfileFileException($"{Where()}: the value of {key} is not a double-quoted string. Write {key} = \"...\" " +
                    "(inside the quotes, write \\\" for a quote and \\\\ for a backslash).");
        }
        return values;
    }

    /// <summary>Writes these keys over the file's (the others are kept), readable by its owner only.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, string> updates)
    {
        var values = new Dictionary<string, string>(Read(path), StringComparer.Ordinal);
        foreach (var (key, value) in updates)
        {
            values[key] = value;
        }
        var text = new StringBuilder("# The modal profile: written by `modal token new --save-profile`. MODAL_* variables override it.\n");
        foreach (string key in s_keys.Where(values.ContainsKey))
        {
            text.Append(key).Append(" = ").Append(Quote(values[key])).Append('\n');
        }
        if (System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) is { } directory)
        {
            Directory.CreateDirectory(directory);
        }
        string temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
        {
            writer.Write(text.ToString());
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>A TOML basic string with an optional trailing comment; null when the text is not one.</summary>
    private static string? ParseString(string text)
    {
        if (text.Length < 2 || text[0] != '"')
        {
            return null;
        }
        var value = new StringBuilder();
        int i = 1;
        for (; i < text.Length && text[i] != '"'; i++)
        {
            char c = text[i];
            if (char.IsControl(c) && c != '\t')
            {
                return null;
            }
            if (c != '\\')
            {
                value.Append(c);
                continue;
            }
            if (++i >= text.Length)
            {
                return null;
            }
            switch (text[i])
            {
                case '"': value.Append('"'); break;
                case '\\': value.Append('\\'); break;
                case 'b': value.Append('\b'); break;
                case 't': value.Append('\t'); break;
                case 'n': value.Append('\n'); break;
                case 'f': value.Append('\f'); break;
                case 'r': value.Append('\r'); break;
                case 'u' or 'U':
                    int digits = text[i] == 'u' ? 4 : 8;
                    if (i + digits >= text.Length
                        || !int.TryParse(text.AsSpan(i + 1, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code)
                        || code > 0x10FFFF || code is >= 0xD800 and <= 0xDFFF)
                    {
                        return null;
                    }
                    value.Append(char.ConvertFromUtf32(code));
                    i += digits;
                    break;
                default:
                    return null;
            }
        }
        if (i >= text.Length)
        {
            return null; // no closing quote
        }
        string rest = text[(i + 1)..].TrimStart();
        return rest.Length == 0 || rest[0] == '#' ? value.ToString() : null;
    }

    private static string Quote(string value)
    {
        var quoted = new StringBuilder("\"");
        foreach (char c in value)
        {
            quoted.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                _ when char.IsControl(c) => $"\\u{(int)c:X4}",
                _ => c.ToString(),
            });
        }
        return quoted.Append('"').ToString();
    }
}

/// <summary>The profile file cannot be read, or has a line this reader does not accept; the message names the file, the line and the fix.</summary>
internal sealed class ProfileFileException(string message) : InvalidOperationException(message);
