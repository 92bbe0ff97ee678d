using Grpc.Core;
using Modal.Api;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Blobs;

/// <summary>Payloads too large to travel inline, kept as files in one directory; their sizes are recorded in the store.</summary>
internal sealed class BlobStore : IDisposable
{
    /// <summary>The largest blob accepted.</summary>
    public const long MaxBlobSize = 256L * 1024 * 1024;

    private const int ChunkSize = 1024 * 1024;
    private readonly IControlStore _store;
    private readonly bool _ownsDirectory;

    public BlobStore(IControlStore store, string? directory)
    {
        _store = store;
        _ownsDirectory = directory is null;
        Directory = directory ?? Path.Combine(Path.GetTempPath(), "modal-blobs-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    private string PathOf(string blobId) => Path.Combine(Directory, blobId);

    private static bool IsValidId(string blobId) =>
        blobId.Length is > 3 and < 64 && blobId.StartsWith("bl-", StringComparison.Ordinal) && blobId.Skip(3).All(char.IsAsciiLetterOrDigit);

    /// <summary>
    /// Stores an uploaded blob and returns its id. The first chunk may carry an idempotency key (scoped by
    /// <paramref name="keyScope"/>, the uploader): a retry of an upload that was stored drains its chunks and returns the
    /// stored blob's id.
    /// </summary>
    public async Task<string> PutAsync(IAsyncStreamReader<BlobChunk> chunks, string keyScope, CancellationToken cancellationToken)
    {
        bool more = await chunks.MoveNext(cancellationToken).ConfigureAwait(false);
        string firstKey = more ? chunks.Current.IdempotencyKey : "";
        RequestLimits.Optional(firstKey, "idempotency_key", "BlobPut");
        string? key = firstKey.Length == 0 ? null : "blob:" + keyScope + ":" + firstKey;
        if (key is not null && await _store.FindRequestKeyAsync(key).ConfigureAwait(false) is { } stored && File.Exists(PathOf(stored)))
        {
            while (await chunks.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                // The retry's bytes are the stored blob's; they are read to end the stream and dropped.
            }
            return stored;
        }
        // 128 random bits from the system CSPRNG: a blob id cannot be guessed.
        string blobId = "bl-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        string temporary = PathOf(blobId) + ".partial";
        long size = 0;
        long? declared = null;
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, ChunkSize, useAsync: true))
            {
                for (; more; more = await chunks.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    var chunk = chunks.Current;
                    if (declared is null && chunk.TotalSize > 0)
                    {
                        declared = chunk.TotalSize;
                        if (declared > MaxBlobSize)
                        {
                            throw Errors.Invalid($"The blob is {declared} bytes; the blob store takes at most {MaxBlobSize} bytes (256 MiB).");
                        }
                    }
                    size += chunk.Data.Length;
                    if (size > MaxBlobSize)
                    {
                        throw Errors.Invalid($"The blob is over {MaxBlobSize} bytes (256 MiB), the most the blob store takes.");
                    }
                    await file.WriteAsync(chunk.Data.Memory, cancellationToken).ConfigureAwait(false);
                }
            }
            if (declared is not null && declared != size)
            {
                throw Errors.Invalid($"The blob's first chunk declared {declared} bytes but {size} bytes were sent.");
            }
            File.Move(temporary, PathOf(blobId));
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        return await _store.InsertBlobAsync(blobId, size, key).ConfigureAwait(false);
    }

    /// <summary>The blob's size, or NOT_FOUND naming it.</summary>
    public long GetSize(string blobId)
    {
        var file = IsValidId(blobId) ? new FileInfo(PathOf(blobId)) : null;
        return file is { Exists: true }
            ? file.Length
            : throw Errors.NotFound($"Blob '{blobId}' was not found. Upload it with BlobPut first.");
    }

    /// <summary>Removes a blob's file (retention); a missing file is fine.</summary>
    public void DeleteFile(string blobId)
    {
        if (IsValidId(blobId))
        {
            try
            {
                File.Delete(PathOf(blobId));
            }
            catch (IOException)
            {
                // In use by a reader right now: the next sweep has no row for it, so it stays; rare and bounded.
            }
        }
    }

    /// <summary>The first bytes of a blob (to check an argument array's header).</summary>
    public byte[] ReadPrefix(string blobId, int count)
    {
        GetSize(blobId);
        using var file = File.OpenRead(PathOf(blobId));
        var buffer = new byte[count];
        int read = file.ReadAtLeast(buffer, count, throwOnEndOfStream: false);
        return buffer[..read];
    }

    public async Task GetAsync(string blobId, IServerStreamWriter<BlobChunk> writer, CancellationToken cancellationToken)
    {
        long size = GetSize(blobId);
        await using var file = new FileStream(PathOf(blobId), FileMode.Open, FileAccess.Read, FileShare.Read, ChunkSize, useAsync: true);
        var buffer = new byte[ChunkSize];
        bool first = true;
        while (true)
        {
            int read = await file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0 && !first)
            {
                break;
            }
            await writer.WriteAsync(new BlobChunk
            {
                Data = Google.Protobuf.ByteString.CopyFrom(buffer, 0, read),
                TotalSize = first ? size : 0,
            }, cancellationToken).ConfigureAwait(false);
            first = false;
            if (read == 0)
            {
                break;
            }
        }
    }

    public void Dispose()
    {
        if (_ownsDirectory)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temporary directory.
            }
        }
    }
}
