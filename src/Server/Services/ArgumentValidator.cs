using Modal.Api;
using Modal.Server.Blobs;

namespace Modal.Server.Services;

/// <summary>Checks payloads against the registered signature without decoding them beyond the MessagePack array header.</summary>
internal sealed class ArgumentValidator(BlobStore blobs)
{
    /// <summary>The most an inline payload may carry.</summary>
    public const int MaxInlineSize = 2 * 1024 * 1024;

    public void ValidateInputs(FunctionSpec spec, IEnumerable<FunctionInputItem> items)
    {
        foreach (var item in items)
        {
            ValidateArguments(spec, item.Index, item.Arguments);
        }
    }

    private void ValidateArguments(FunctionSpec spec, int index, Payload? payload)
    {
        ReadOnlySpan<byte> header;
        byte[] prefix;
        switch (payload?.DataCase)
        {
            case Payload.DataOneofCase.Inline:
                if (payload.Inline.Length > MaxInlineSize)
                {
                    throw Errors.Invalid(
                        $"The arguments of input {index} to {spec.Name} are {payload.Inline.Length} bytes inline; inline payloads are limited to " +
                        $"{MaxInlineSize} bytes (2 MiB). Upload larger arguments with BlobPut and send the blob id.");
                }
                header = payload.Inline.Span;
                break;
            case Payload.DataOneofCase.BlobId:
                prefix = blobs.ReadPrefix(payload.BlobId, 5);
                header = prefix;
                break;
            default:
                throw Errors.Invalid($"Input {index} to {spec.Name} has no arguments payload; expected a MessagePack array for {Signature(spec)}.");
        }
        long? count = ArrayLength(header);
        if (count is null)
        {
            throw Errors.Invalid($"The arguments of input {index} to {spec.Name} are not a MessagePack array; {Signature(spec)} " +
                $"takes an array of {spec.ParameterCount} element(s).");
        }
        if (count != spec.ParameterCount)
        {
            throw Errors.Invalid($"Input {index} to {spec.Name} has {count} argument(s), but {Signature(spec)} takes {spec.ParameterCount}.");
        }
    }

    private static string Signature(FunctionSpec spec) => string.IsNullOrEmpty(spec.Signature) ? spec.Name : spec.Signature;

    /// <summary>The element count of a MessagePack array header (fixarray, array16, array32), or null.</summary>
    internal static long? ArrayLength(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return null;
        }
        byte first = data[0];
        if (first is >= 0x90 and <= 0x9f)
        {
            return first & 0x0f;
        }
        if (first == 0xdc && data.Length >= 3)
        {
            return (data[1] << 8) | data[2];
        }
        if (first == 0xdd && data.Length >= 5)
        {
            return ((long)data[1] << 24) | ((long)data[2] << 16) | ((long)data[3] << 8) | data[4];
        }
        return null;
    }

    /// <summary>Checks a worker's result payloads (inline size, blob existence).</summary>
    public void ValidateResult(Payload? payload, string what)
    {
        if (payload?.DataCase == Payload.DataOneofCase.Inline && payload.Inline.Length > MaxInlineSize)
        {
            throw Errors.Invalid($"{what} is {payload.Inline.Length} bytes inline; inline payloads are limited to {MaxInlineSize} " +
                "bytes (2 MiB). Upload it with BlobPut and send the blob id.");
        }
        if (payload?.DataCase == Payload.DataOneofCase.BlobId)
        {
            RequestLimits.Id(payload.BlobId, "blob_id", what);
            blobs.GetSize(payload.BlobId);
        }
    }
}
