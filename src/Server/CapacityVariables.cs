using System.Globalization;

namespace Modal.Server;

/// <summary>
/// The embedded control plane's placement settings, which an app sets in its environment (it has no command line for its
/// control plane): <c>MODAL_CPU_OVERCOMMIT</c>, <c>MODAL_MEMORY_OVERCOMMIT</c>, <c>MODAL_CAPACITY_CPU</c> and
/// <c>MODAL_CAPACITY_MEMORY_MB</c>, the counterparts of <c>modal server</c>'s <c>--cpu-overcommit</c>,
/// <c>--memory-overcommit</c>, <c>--capacity-cpu</c> and <c>--capacity-memory-mb</c>.
/// </summary>
internal static class CapacityVariables
{
    public const string CpuOvercommit = "MODAL_CPU_OVERCOMMIT";
    public const string MemoryOvercommit = "MODAL_MEMORY_OVERCOMMIT";
    public const string CapacityCpu = "MODAL_CAPACITY_CPU";
    public const string CapacityMemoryMb = "MODAL_CAPACITY_MEMORY_MB";

    /// <summary><paramref name="options"/> with the settings the environment (or <paramref name="variables"/>, for tests) gives.</summary>
    /// <exception cref="InvalidOperationException">A variable is set to something other than a positive number.</exception>
    public static ControlPlaneOptions Apply(ControlPlaneOptions options, Func<string, string?>? variables = null)
    {
        variables ??= Environment.GetEnvironmentVariable;
        return options with
        {
            CpuOvercommit = Read(variables, CpuOvercommit) ?? options.CpuOvercommit,
            MemoryOvercommit = Read(variables, MemoryOvercommit) ?? options.MemoryOvercommit,
            CapacityCpu = Read(variables, CapacityCpu) ?? options.CapacityCpu,
            CapacityMemoryMb = Read(variables, CapacityMemoryMb) ?? options.CapacityMemoryMb,
        };
    }

    private static double? Read(Func<string, string?> variables, string name)
    {
        string? text = variables(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value) && value > 0)
        {
            return value;
        }
        throw new InvalidOperationException($"{name} is '{text}': give a positive number (for example 0.5 or 2), or unset it.");
    }
}
