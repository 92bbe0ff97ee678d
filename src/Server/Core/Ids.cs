namespace Modal.Server.Core;

/// <summary>Ids of apps, functions, calls, inputs and containers: a prefix and 128 random bits.</summary>
internal static class Ids
{
    public static string New(string prefix) => prefix + Guid.NewGuid().ToString("N");
}
