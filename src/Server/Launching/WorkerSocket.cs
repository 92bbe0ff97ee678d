namespace Modal.Server.Launching;

/// <summary>
/// The Unix domain socket the control plane also listens on for podman workers, in a directory of its own that the
/// launcher mounts into each container. The socket is open to every local user, as the loopback port is: a worker
/// still needs its container token.
/// </summary>
internal sealed class WorkerSocket : IDisposable
{
    private const string FileName = "control.sock";
    private readonly bool _ownsDirectory;

    private WorkerSocket(string directory, bool ownsDirectory)
    {
        Directory = directory;
        _ownsDirectory = ownsDirectory;
        Path = System.IO.Path.Combine(directory, FileName);
    }

    /// <summary>The directory holding the socket (mounted into containers).</summary>
    public string Directory { get; }

    /// <summary>The socket's path on this machine.</summary>
    public string Path { get; }

    /// <summary>The socket of <paramref name="options"/>' directory, else of a new temporary one; a stale socket file is removed.</summary>
    public static WorkerSocket Create(PodmanLauncherOptions options)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The podman launcher runs on Linux only; on Windows use --launcher process.");
        }
        bool owns = options.SocketDirectory is null;
        string directory = options.SocketDirectory is { } given
            ? System.IO.Directory.CreateDirectory(System.IO.Path.GetFullPath(given)).FullName
            : System.IO.Directory.CreateTempSubdirectory("modal-control-").FullName;
        var socket = new WorkerSocket(directory, owns);
        if (socket.Path.Length > 100)
        {
            throw new ArgumentException(
                $"The worker socket path '{socket.Path}' is longer than a Unix domain socket allows (about 100 bytes); choose a shorter socket directory.");
        }
        // Containers run as an unprivileged user: they must traverse the directory and connect to the socket.
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.Delete(socket.Path);
        return socket;
    }

    /// <summary>Opens the socket, once Kestrel has created it, to the containers' unprivileged user.</summary>
    public void Started()
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead |
                UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        }
    }

    /// <summary>Removes the socket, and the directory when it was made for it.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(Path);
            if (_ownsDirectory)
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // Left for the OS's temporary-file cleanup.
        }
    }
}
