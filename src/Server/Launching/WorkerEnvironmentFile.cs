using System.Text;

namespace Modal.Server.Launching;

/// <summary>
/// A worker container's variables as a podman env file (<c>NAME=value</c> lines) in a directory only the server's user
/// can read, deleted with it. A value with a line break is refused: on its own line it would set another variable of
/// the container (its token, its server URL).
/// </summary>
internal sealed class WorkerEnvironmentFile : IDisposable
{
    private readonly string _directory;

    private WorkerEnvironmentFile(string directory, string path)
    {
        _directory = directory;
        Path = path;
    }

    public string Path { get; }

    public static WorkerEnvironmentFile Write(ContainerLaunchRequest request, IReadOnlyDictionary<string, string> environment)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in environment.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            if (name.AsSpan().IndexOfAny('\n', '\r', '=') >= 0 || value.AsSpan().IndexOfAny('\n', '\r') >= 0)
            {
                throw new InvalidOperationException(
                    $"Function {request.FunctionName} of app {request.AppName} has the environment variable '{name}' with a line break or '=' in " +
                    "its name or a line break in its value, which a container's environment file cannot hold. Remove the line break from the " +
                    "function's, variant's or app's environment.");
            }
            text.Append(name).Append('=').Append(value).Append('\n');
        }
        // Created with mode 0700 on Unix (mkdtemp), so the file in it is the server user's alone.
        var directory = Directory.CreateTempSubdirectory("modal-env-");
        string path = System.IO.Path.Combine(directory.FullName, "worker.env");
        var creation = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            creation.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var file = new FileStream(path, creation))
        {
            file.Write(Encoding.UTF8.GetBytes(text.ToString()));
        }
        return new WorkerEnvironmentFile(directory.FullName, path);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Already gone.
        }
    }
}
