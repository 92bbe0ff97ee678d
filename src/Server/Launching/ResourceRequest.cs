using System.Globalization;

namespace Modal.Server.Launching;

/// <summary>
/// What one container asks of its launcher: its function's <c>Cpu</c> and <c>MemoryMb</c> (0.125 cores and 128 MiB when
/// the function gives none) and the number of GPUs in its <c>Gpu</c> (<c>A100</c> is one, <c>A100:2</c> two).
/// </summary>
/// <param name="Cpu">Cores.</param>
/// <param name="MemoryMb">MiB.</param>
/// <param name="Gpus">GPUs.</param>
public readonly record struct ResourceRequest(double Cpu, double MemoryMb, int Gpus)
{
    /// <summary>The cores a container requests when its function gives none (as <c>[Function]</c>'s default).</summary>
    public const double DefaultCpu = 0.125;

    /// <summary>The MiB a container requests when its function gives none (as <c>[Function]</c>'s default).</summary>
    public const int DefaultMemoryMb = 128;

    /// <summary>The request of a function that asks for nothing in particular.</summary>
    public static ResourceRequest Default { get; } = new(DefaultCpu, DefaultMemoryMb, 0);

    /// <summary>The request of a function with these options; 0 (unset) takes the default, a malformed GPU counts as one.</summary>
    public static ResourceRequest Of(double cpu, int memoryMb, string gpu) =>
        new(cpu > 0 ? cpu : DefaultCpu, memoryMb > 0 ? memoryMb : DefaultMemoryMb, GpuCount(gpu) ?? 1);

    /// <summary>The number of GPUs in <c>TYPE</c> (one) or <c>TYPE:COUNT</c> (1 to 64); 0 for none; null when malformed.</summary>
    public static int? GpuCount(string? gpu)
    {
        string text = (gpu ?? "").Trim();
        if (text.Length == 0)
        {
            return 0;
        }
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return 1;
        }
        return colon > 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count is > 0 and <= 64
            ? count
            : null;
    }

    /// <summary>For messages: <c>0.125 cores and 128 MiB</c>, with the GPUs when there are any.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Cpu:0.###} cores and {MemoryMb:#,0} MiB") + (Gpus > 0 ? $" and {Gpus} GPU(s)" : "");
}
