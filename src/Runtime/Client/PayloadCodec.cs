using Google.Protobuf;
using Grpc.Core;
using Modal.Api;

namespace Modal;

/// <summary>
/// Moves payloads: inline up to <see cref="InlineLimit"/>, through the blob store (in chunks) up to
/// <see cref="MaxPayloadSize"/>; larger ones are refused before anything is sent.
/// </summary>
internal sealed class PayloadCodec(GrpcConnection connection)
{
    /// <summary>The largest payload sent inline (2 MiB).</summary>
    public const int InlineLimit = 2 * 1024 * 1024;

    /// <summary>The largest payload at all (256 MiB).</summary>
    public const long MaxPayloadSize = 256L * 1024 * 1024;

    /// <summary>The size of one blob chunk on the wire (1 MiB).</summary>
    public const int ChunkSize = 1024 * 1024;

    /// <summary>Throws <see cref="InvalidInputException"/> when a payload is over the limit.</summary>
    /// <param name="size">The payload's size in bytes.</param>
    /// <param name="what">What it is, for the message: "the arguments of 'Square'".</param>
    public static void CheckSize(long size, string what)
    {
        if (size > MaxPayloadSize)
        {
            throw new InvalidInputException(
                $"{Capitalize(what)} encode to {size:N0} bytes, over the {MaxPayloadSize:N0} byte (256 MiB) limit for one payload. " +
                "Pass a smaller value, or store the data elsewhere and pass a reference to it.");
        }
    }

    /// <summary>The bytes as a payload, uploading them as a blob when they are over the inline limit.</summary>
    public async ValueTask<Payload> EncodeAsync(ReadOnlyMemory<byte> bytes, string what, CancellationToken cancellationToken)
    {
        CheckSize(bytes.Length, what);
        if (bytes.Length <= InlineLimit)
        {
            return new Payload { Inline = UnsafeByteOperations.UnsafeWrap(bytes) };
        }
        return new Payload { BlobId = await PutBlobAsync(bytes, cancellationToken).ConfigureAwait(false) };
    }

    /// <summary>The bytes of a payload, downloading them when it names a blob.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> DecodeAsync(Payload? payload, CancellationToken cancellationToken)
    {
        if (payload is null)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        return payload.DataCase switch
        {
            Payload.DataOneofCase.Inline => payload.Inline.Memory,
            Payload.DataOneofCase.BlobId => await GetBlobAsync(payload.BlobId, cancellationToken).ConfigureAwait(false),
            _ => ReadOnlyMemory<byte>.Empty,
        };
    }

    /// <summary>Uploads a blob; an upload that breaks in transit starts again, within the retry window.</summary>
    private Task<string> PutBlobAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        // One key for every attempt: a retry of an upload the server stored gets that blob instead of storing another.
        string idempotencyKey = GrpcBackend.NewIdempotencyKey();
        return connection.RunAsync(
            async (endpoint, options) =>
            {
                using var call = endpoint.Client.BlobPut(options);
                for (var offset = 0; offset < bytes.Length; offset += ChunkSize)
                {
                    var chunk = new BlobChunk { Data = UnsafeByteOperations.UnsafeWrap(bytes.Slice(offset, Math.Min(ChunkSize, bytes.Length - offset))) };
                    if (offset == 0)
                    {
                        chunk.TotalSize = bytes.Length;
                        chunk.IdempotencyKey = idempotencyKey;
                    }
                    await call.RequestStream.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                }
                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                return (await call.ResponseAsync.ConfigureAwait(false)).BlobId;
            },
            cancellationToken);
    }

    /// <summary>Downloads a blob; a download that breaks in transit starts again, within the retry window.</summary>
    private Task<ReadOnlyMemory<byte>> GetBlobAsync(string blobId, CancellationToken cancellationToken)
        => connection.RunAsync(
            async (endpoint, options) =>
            {
                using var call = endpoint.Client.BlobGet(new BlobGetRequest { BlobId = blobId }, options);
                byte[]? buffer = null;
                var written = 0;
                using var spill = new MemoryStream();
                while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    var chunk = call.ResponseStream.Current;
                    if (buffer is null && written == 0 && chunk.TotalSize > 0 && chunk.TotalSize <= MaxPayloadSize)
                    {
                        buffer = new byte[chunk.TotalSize];
                    }
                    if (buffer is not null && written + chunk.Data.Length <= buffer.Length)
                    {
                        chunk.Data.Span.CopyTo(buffer.AsSpan(written));
                        written += chunk.Data.Length;
                    }
                    else
                    {
                        if (buffer is not null)
                        {
                            spill.Write(buffer, 0, written);
                            buffer = null;
                        }
                        spill.Write(chunk.Data.Span);
                        written += chunk.Data.Length;
                    }
                }
                return buffer is not null ? buffer.AsMemory(0, written) : (ReadOnlyMemory<byte>)spill.ToArray();
            },
            cancellationToken);

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
