namespace Modal.Reliability.Tests;

/// <summary>CI sizes by default; <c>MODAL_SOAK=1</c> selects the larger soak sizes.</summary>
public static class Soak
{
    /// <summary>Whether the soak sizes are asked for.</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable("MODAL_SOAK") is "1" or "true";

    /// <summary>The size for this run.</summary>
    public static int Size(int ci, int soak) => Enabled ? soak : ci;
}
