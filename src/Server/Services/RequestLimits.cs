using Google.Protobuf.Collections;
using Modal.Api;

namespace Modal.Server.Services;

/// <summary>
/// Field checks shared by the RPCs: ids, names, counts, ranges and enum values. A violation is INVALID_ARGUMENT whose
/// message names the RPC, the field and what it may hold.
/// </summary>
internal static class RequestLimits
{
    public const int MaxIdLength = 128;
    public const int MaxNameLength = 256;
    public const int MaxInputsPerRequest = 100_000;

    /// <summary>A required id: 1 to 128 ASCII letters, digits, '-' or '_'.</summary>
    public static string Id(string value, string field, string rpc)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw Errors.Invalid($"{rpc} needs {field}.");
        }
        if (value.Length > MaxIdLength || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw Errors.Invalid($"{rpc}: {field} '{Shorten(value)}' is not an id (1 to {MaxIdLength} ASCII letters, digits, '-' or '_').");
        }
        return value;
    }

    /// <summary>A required name: 1 to 256 characters, no control characters.</summary>
    public static string Name(string value, string field, string rpc)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw Errors.Invalid($"{rpc} needs {field}.");
        }
        Optional(value, field, rpc);
        return value;
    }

    /// <summary>An optional text field: at most 256 characters, no control characters.</summary>
    public static void Optional(string value, string field, string rpc)
    {
        if (value.Length > MaxNameLength || value.Any(char.IsControl))
        {
            throw Errors.Invalid($"{rpc}: {field} '{Shorten(value)}' must have at most {MaxNameLength} characters and no control characters.");
        }
    }

    public static void Range(long value, long min, long max, string field, string rpc)
    {
        if (value < min || value > max)
        {
            throw Errors.Invalid($"{rpc}: {field} is {value}; it must be {min} to {max}.");
        }
    }

    public static void Count(int count, int max, string field, string rpc)
    {
        if (count > max)
        {
            throw Errors.Invalid($"{rpc}: {field} has {count} entries; at most {max} are allowed.");
        }
    }

    public static void Enum<T>(T value, string field, string rpc) where T : struct, System.Enum
    {
        if (!System.Enum.IsDefined(value))
        {
            throw Errors.Invalid($"{rpc}: {field} is {Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture)}, not one of " +
                $"{string.Join(", ", System.Enum.GetNames<T>())}.");
        }
    }

    /// <summary>Inputs of one request: at most 100,000, indexes 0 or more and distinct, each with arguments.</summary>
    public static void Inputs(RepeatedField<FunctionInputItem> inputs, string field, string rpc)
    {
        Count(inputs.Count, MaxInputsPerRequest, field, rpc);
        var seen = new HashSet<int>();
        for (int i = 0; i < inputs.Count; i++)
        {
            var item = inputs[i];
            if (item.Index < 0)
            {
                throw Errors.Invalid($"{rpc}: {field}[{i}].index is {item.Index}; indexes start at 0.");
            }
            if (!seen.Add(item.Index))
            {
                throw Errors.Invalid($"{rpc}: {field}[{i}].index {item.Index} appears twice in one request.");
            }
            if (item.Arguments?.DataCase == Payload.DataOneofCase.BlobId)
            {
                Id(item.Arguments.BlobId, $"{field}[{i}].arguments.blob_id", rpc);
            }
        }
    }

    private static string Shorten(string value) =>
        new(value.Take(64).Select(c => char.IsControl(c) ? '?' : c).Concat(value.Length > 64 ? "…" : "").ToArray());
}
