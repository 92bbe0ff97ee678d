using Modal.Server.Images;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Modal.Api;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Artifacts;

/// <summary>
/// Build outputs stored content-addressed for the process launcher: files by the SHA-256 of their content (so a file
/// that did not change between builds is never sent again), and each artifact as a directory named after the digest of
/// its manifest, assembled from those files once every one is stored. The store records which artifacts exist; a
/// standalone control plane launches workers only from these directories.
/// </summary>
internal sealed class ArtifactStore
{
    public const int MaxFiles = 20_000;
    public const long MaxFileSize = 512L * 1024 * 1024;
    public const long MaxArtifactSize = 4L * 1024 * 1024 * 1024;
    public const int MaxPathLength = 1024;
    private const int ChunkSize = 1024 * 1024;

    private readonly IControlStore _store;
    private readonly SemaphoreSlim _assembling = new(1, 1);

    public ArtifactStore(IControlStore store, string root)
    {
        _store = store;
        Root = root;
        Directory.CreateDirectory(FilesDirectory);
        Directory.CreateDirectory(TreesDirectory);
    }

    /// <summary>Everything artifacts keep; workers may read it (read-only), and nothing else of the server's data.</summary>
    public string Root { get; }

    private string FilesDirectory => Path.Combine(Root, "files");

    private string TreesDirectory => Path.Combine(Root, "trees");

    /// <summary>The directory an artifact is assembled in.</summary>
    public string TreeOf(string digest) => Path.Combine(TreesDirectory, digest);

    private static bool IsSha256(string value) => value.Length == 64 && value.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    public static bool IsDigest(string value) => value.StartsWith("sha256-", StringComparison.Ordinal) && IsSha256(value[7..]);

    /// <summary>Checks a manifest's every field; INVALID_ARGUMENT naming the file and field otherwise.</summary>
    public static void Validate(ArtifactManifest manifest)
    {
        if (manifest.Files.Count == 0)
        {
            throw Errors.Invalid("ArtifactCommit: files is empty; an artifact holds the app's build output.");
        }
        if (manifest.Files.Count > MaxFiles)
        {
            throw Errors.Invalid($"ArtifactCommit: files has {manifest.Files.Count} entries; an artifact holds at most {MaxFiles}.");
        }
        var paths = new HashSet<string>(StringComparer.Ordinal);
        long total = 0;
        for (int i = 0; i < manifest.Files.Count; i++)
        {
            var file = manifest.Files[i];
            string where = $"ArtifactCommit: files[{i}]";
            if (!IsSafeRelativePath(file.Path))
            {
                throw Errors.Invalid($"{where}.path '{Shorten(file.Path)}' is not a relative '/'-separated path without '.', '..' or empty segments " +
                    $"(at most {MaxPathLength} characters).");
            }
            if (!paths.Add(file.Path))
            {
                throw Errors.Invalid($"{where}.path '{file.Path}' appears twice.");
            }
            if (!IsSha256(file.Sha256))
            {
                throw Errors.Invalid($"{where}.sha256 '{Shorten(file.Sha256)}' is not 64 lowercase hex digits.");
            }
            if (file.Size < 0 || file.Size > MaxFileSize)
            {
                throw Errors.Invalid($"{where}.size is {file.Size}; a file of an artifact has 0 to {MaxFileSize} bytes.");
            }
            total += file.Size;
        }
        if (total > MaxArtifactSize)
        {
            throw Errors.Invalid($"ArtifactCommit: the files add up to {total} bytes; an artifact holds at most {MaxArtifactSize}.");
        }
    }

    private static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "…";

    public static bool IsSafeRelativePath(string path) =>
        path.Length is > 0 and <= MaxPathLength && !path.StartsWith('/') && !path.Contains('\\') && !path.Contains('\0')
        && path.Split('/').All(segment => segment.Length > 0 && segment != "." && segment != "..");

    /// <summary>The digest of a manifest: SHA-256 over its files sorted by path.</summary>
    public static string DigestOf(ArtifactManifest manifest)
    {
        var text = new StringBuilder();
        foreach (var file in manifest.Files.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            text.Append(file.Path).Append('\0').Append(file.Sha256).Append('\0').Append(file.Size).Append('\0').Append(file.Executable ? '1' : '0').Append('\n');
        }
        return "sha256-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()))).ToLowerInvariant();
    }

    /// <summary>Commits an artifact: its digest once every file is stored (assembling it the first time), else the files missing.</summary>
    public async Task<ArtifactCommitResponse> CommitAsync(ArtifactManifest manifest)
    {
        Validate(manifest);
        string digest = DigestOf(manifest);
        if (Directory.Exists(TreeOf(digest)) && await _store.GetArtifactAsync(digest).ConfigureAwait(false) is not null)
        {
            return new ArtifactCommitResponse { Digest = digest };
        }
        var missing = manifest.Files.Select(f => f.Sha256).Distinct(StringComparer.Ordinal)
            .Where(sha => !File.Exists(Path.Combine(FilesDirectory, sha))).ToList();
        if (missing.Count > 0)
        {
            var response = new ArtifactCommitResponse();
            response.MissingSha256.AddRange(missing);
            return response;
        }
        await _assembling.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!Directory.Exists(TreeOf(digest)))
            {
                string partial = TreeOf(digest) + ".partial-" + Guid.NewGuid().ToString("N");
                foreach (var file in manifest.Files)
                {
                    string target = Path.Combine(partial, file.Path);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(Path.Combine(FilesDirectory, file.Sha256), target);
                    if (!OperatingSystem.IsWindows())
                    {
                        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead
                            | (file.Executable ? UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute : 0));
                    }
                }
                Directory.Move(partial, TreeOf(digest));
            }
        }
        finally
        {
            _assembling.Release();
        }
        await _store.RecordArtifactAsync(digest, manifest.ToByteArray(), manifest.Files.Sum(f => f.Size)).ConfigureAwait(false);
        return new ArtifactCommitResponse { Digest = digest };
    }

    /// <summary>Stores one file sent in chunks; its content must hash to the SHA-256 its first chunk named.</summary>
    public async Task PutFileAsync(IAsyncStreamReader<ArtifactFileChunk> chunks, CancellationToken cancellationToken)
    {
        if (!await chunks.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            throw Errors.Invalid("ArtifactFilePut: no chunk was sent; the first names sha256 and total_size.");
        }
        var first = chunks.Current;
        if (!IsSha256(first.Sha256))
        {
            throw Errors.Invalid($"ArtifactFilePut: sha256 '{Shorten(first.Sha256)}' is not 64 lowercase hex digits.");
        }
        if (first.TotalSize < 0 || first.TotalSize > MaxFileSize)
        {
            throw Errors.Invalid($"ArtifactFilePut: total_size is {first.TotalSize}; a file of an artifact has 0 to {MaxFileSize} bytes.");
        }
        string target = Path.Combine(FilesDirectory, first.Sha256);
        string temporary = target + ".partial-" + Guid.NewGuid().ToString("N");
        long size = 0;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, ChunkSize, useAsync: true))
            {
                var chunk = first;
                while (true)
                {
                    size += chunk.Data.Length;
                    if (size > first.TotalSize)
                    {
                        throw Errors.Invalid($"ArtifactFilePut: more than total_size ({first.TotalSize}) bytes were sent for {first.Sha256}.");
                    }
                    hash.AppendData(chunk.Data.Span);
                    await file.WriteAsync(chunk.Data.Memory, cancellationToken).ConfigureAwait(false);
                    if (!await chunks.MoveNext(cancellationToken).ConfigureAwait(false))
                    {
                        break;
                    }
                    chunk = chunks.Current;
                }
            }
            if (size != first.TotalSize)
            {
                throw Errors.Invalid($"ArtifactFilePut: total_size was {first.TotalSize} but {size} bytes were sent.");
            }
            string actual = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
            if (actual != first.Sha256)
            {
                throw Errors.Invalid($"ArtifactFilePut: the content's SHA-256 is {actual}, not the sha256 {first.Sha256} it was sent as.");
            }
            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// The launch a standalone server stores for an app: the artifact and its entry assembly (checked to exist) and the
    /// app's environment, never a command; <see cref="ArtifactLauncher"/> writes the command at each launch.
    /// </summary>
    public async Task<WorkerLaunchSpec> ServerLaunchAsync(WorkerLaunchSpec requested)
    {
        if (!IsDigest(requested.ArtifactDigest))
        {
            throw Errors.Invalid($"AppCreate: launch.artifact_digest '{Shorten(requested.ArtifactDigest)}' is not an artifact digest (sha256-…) " +
                "from ArtifactCommit.");
        }
        var stored = await _store.GetArtifactAsync(requested.ArtifactDigest).ConfigureAwait(false)
            ?? throw Errors.NotFound($"AppCreate: artifact {requested.ArtifactDigest} is not stored here; upload it with ArtifactCommit first.");
        var manifest = ArtifactManifest.Parser.ParseFrom(stored);
        // The entry assembly (run by dotnet), or a NativeAOT app's executable (run as it is).
        if (!manifest.Files.Any(f => f.Path == requested.Entrypoint && (WorkerImage.IsManagedEntrypoint(f.Path) || f.Executable)))
        {
            throw Errors.Invalid($"AppCreate: launch.entrypoint '{Shorten(requested.Entrypoint)}' is neither a .dll nor an executable file of artifact {requested.ArtifactDigest}.");
        }
        var launch = new WorkerLaunchSpec { ArtifactDigest = requested.ArtifactDigest, Entrypoint = requested.Entrypoint };
        launch.Environment.Add(requested.Environment);
        return launch;
    }

    /// <summary>
    /// The directory of a stored artifact, assembled again from the stored files when it is missing (another replica
    /// stored it, or the directory was cleaned); null when its files are not all here.
    /// </summary>
    public async Task<string?> TreeAsync(string digest)
    {
        if (!IsDigest(digest))
        {
            return null;
        }
        if (Directory.Exists(TreeOf(digest)))
        {
            return TreeOf(digest);
        }
        if (await _store.GetArtifactAsync(digest).ConfigureAwait(false) is not { } stored)
        {
            return null;
        }
        var committed = await CommitAsync(ArtifactManifest.Parser.ParseFrom(stored)).ConfigureAwait(false);
        return committed.Digest == digest ? TreeOf(digest) : null;
    }

    /// <summary>The .NET host that runs this server (or the one in DOTNET_ROOT), else <c>dotnet</c> from the PATH.</summary>
    public static string DotnetHost() =>
        Launching.ProcessSandbox.DotnetRoot() is { } root && File.Exists(Path.Combine(root, "dotnet")) ? Path.Combine(root, "dotnet") : "dotnet";
}
