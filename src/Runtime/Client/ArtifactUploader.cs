using System.Collections.Concurrent;
using System.Security.Cryptography;
using Google.Protobuf;
using Modal.Api;

namespace Modal;

/// <summary>
/// Uploads this app's build output (<see cref="AppContext.BaseDirectory"/>) to a standalone control plane as a
/// content-addressed artifact: the manifest goes first, and only the files the server does not hold yet follow, so an
/// unchanged build is one request and no upload. The server runs workers from the artifact; no command line is sent.
/// </summary>
internal static class ArtifactUploader
{
    private const int ChunkSize = 1024 * 1024;

    /// <summary>File hashes by path, size and write time, so that a process that deploys twice hashes its files once.</summary>
    private static readonly ConcurrentDictionary<(string Path, long Size, DateTime Written), string> s_hashes = new();

    private static int s_filesUploaded;

    /// <summary>Files this process has uploaded so far (for tests of de-duplication).</summary>
    public static int FilesUploaded => Volatile.Read(ref s_filesUploaded);

    /// <summary>The launch that names the uploaded artifact and the entry assembly in it.</summary>
    public static async Task<WorkerLaunchSpec> UploadAsync(
        GrpcConnection connection, IReadOnlyList<IFunctionEntrypoint> entrypoints, CancellationToken cancellationToken)
    {
        string root = Path.GetFullPath(AppContext.BaseDirectory);
        var local = LaunchSpecs.ForEntrypoints(entrypoints);
        string entryAssembly = LaunchSpecs.EntryFile(local);
        string entrypoint = Path.GetRelativePath(root, entryAssembly).Replace(Path.DirectorySeparatorChar, '/');
        if (entrypoint.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(entrypoint))
        {
            throw new InvalidOperationException(
                $"The assembly with the app's functions ({entryAssembly}) is not inside the app's build output ({root}), so it cannot be " +
                "uploaded as an artifact. Run the app from its build output (dotnet run, or dotnet App.dll in the publish folder).");
        }
        var (manifest, paths) = Manifest(root);
        string digest = await CommitAsync(connection, manifest, paths, cancellationToken).ConfigureAwait(false);
        var launch = new WorkerLaunchSpec { ArtifactDigest = digest, Entrypoint = entrypoint };
        // The app's OpenTelemetry settings go with its workers, as they do from an embedded control plane.
        launch.Environment.Add(local.Environment);
        return launch;
    }

    private static async Task<string> CommitAsync(
        GrpcConnection connection, ArtifactManifest manifest, IReadOnlyDictionary<string, string> paths, CancellationToken cancellationToken)
    {
        for (int round = 0; ; round++)
        {
            var committed = await connection.CallAsync((e, o) => e.Client.ArtifactCommitAsync(manifest, o), cancellationToken).ConfigureAwait(false);
            if (committed.Digest.Length > 0)
            {
                return committed.Digest;
            }
            if (round > 0)
            {
                throw new ModalException(
                    $"The control plane at {connection.ServerUrl} still lacks {committed.MissingSha256.Count} file(s) of the artifact after they were uploaded.");
            }
            foreach (string sha in committed.MissingSha256)
            {
                if (!paths.TryGetValue(sha, out var path))
                {
                    throw new ModalException($"The control plane at {connection.ServerUrl} asked for a file ({sha}) that is not in the artifact.");
                }
                await PutFileAsync(connection, sha, path, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref s_filesUploaded);
            }
        }
    }

    private static Task<bool> PutFileAsync(GrpcConnection connection, string sha, string path, CancellationToken cancellationToken)
        => connection.RunAsync(
            async (endpoint, options) =>
            {
                using var call = endpoint.Client.ArtifactFilePut(options);
                await using var file = File.OpenRead(path);
                var buffer = new byte[ChunkSize];
                bool first = true;
                while (true)
                {
                    int read = await file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                    if (read == 0 && !first)
                    {
                        break;
                    }
                    var chunk = new ArtifactFileChunk { Data = ByteString.CopyFrom(buffer, 0, read) };
                    if (first)
                    {
                        chunk.Sha256 = sha;
                        chunk.TotalSize = file.Length;
                        first = false;
                    }
                    await call.RequestStream.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }
                }
                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                await call.ResponseAsync.ConfigureAwait(false);
                return true;
            },
            cancellationToken);

    /// <summary>Every regular file under <paramref name="root"/> with its hash; and a path for each hash.</summary>
    private static (ArtifactManifest Manifest, Dictionary<string, string> Paths) Manifest(string root)
    {
        var manifest = new ArtifactManifest();
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                     .Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null)
            {
                continue;
            }
            string sha = s_hashes.GetOrAdd((path, info.Length, info.LastWriteTimeUtc), key =>
            {
                using var stream = File.OpenRead(key.Path);
                return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
            });
            manifest.Files.Add(new ArtifactFile
            {
                Path = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/'),
                Sha256 = sha,
                Size = info.Length,
                Executable = !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0,
            });
            paths.TryAdd(sha, path);
        }
        return (manifest, paths);
    }
}
