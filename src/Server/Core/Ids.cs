namespace Modal.Server.Core;

/// <summary>Ids of apps, functions, calls, inputs and containers: a prefix and 128 random bits.</summary>
internal static class Ids
{
    public static string New(string prefix) => prefix + Guid.NewGuid().ToString("N");

    /// <summary>
    /// A call id that carries its creation time (12 hex digits of Unix milliseconds, then 80 random bits), so that a call
    /// deleted by retention is told apart from one that never existed without keeping a row for it.
    /// </summary>
    public static string NewCall(long nowUnixMs) => $"fc-{nowUnixMs:x12}{Guid.NewGuid():N}"[..35];

    /// <summary>When the call was created, from its id; null for ids of another form.</summary>
    public static long? CallCreatedUnixMs(string callId) =>
        callId.Length == 35 && callId.StartsWith("fc-", StringComparison.Ordinal)
            && long.TryParse(callId.AsSpan(3, 12), System.Globalization.NumberStyles.HexNumber, null, out long ms)
            ? ms
            : null;
}
