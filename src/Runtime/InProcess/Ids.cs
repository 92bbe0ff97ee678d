using System.Security.Cryptography;

namespace Modal.InProcess;

/// <summary>Random ids in the control plane's style: a kind prefix and 20 lowercase hex digits.</summary>
internal static class Ids
{
    public static string NewCallId() => New("fc-");

    public static string NewInputId() => New("in-");

    private static string New(string prefix)
    {
        Span<byte> bytes = stackalloc byte[10];
        RandomNumberGenerator.Fill(bytes);
        return string.Concat(prefix, Convert.ToHexStringLower(bytes));
    }
}
