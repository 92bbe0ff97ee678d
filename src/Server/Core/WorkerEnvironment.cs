using Modal.Server.Services;

namespace Modal.Server.Core;

/// <summary>
/// The variables a client may add to its workers' environment (an app's launch spec, a function's or variant's spec): never
/// those of the .NET runtime, the dynamic loader or the worker's own Modal variables.
/// </summary>
internal static class WorkerEnvironment
{
    private static readonly string[] ReservedPrefixes = ["DOTNET_", "CORECLR_", "COMPlus_", "LD_", "MODAL_"];
    public const int MaxVariables = 256;
    public const int MaxValueLength = 32 * 1024;

    /// <summary>INVALID_ARGUMENT naming <paramref name="rpc"/>, <paramref name="field"/> and the variable when one is not allowed.</summary>
    public static void Check(IReadOnlyCollection<KeyValuePair<string, string>> environment, string field, string rpc)
    {
        RequestLimits.Count(environment.Count, MaxVariables, field, rpc);
        foreach (var (key, value) in environment)
        {
            if (key.Length == 0 || key.Length > 256 || key.Contains('=') || key.Any(char.IsControl))
            {
                throw Errors.Invalid($"{rpc}: {field} has the key '{key}', which is not a variable name.");
            }
            if (ReservedPrefixes.FirstOrDefault(prefix => key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) is { } reserved)
            {
                throw Errors.Invalid(
                    $"{rpc}: {field} may not set {key}: variables starting with {reserved} belong to the runtime, the loader " +
                    "or Modal (DOTNET_*, CORECLR_*, COMPlus_*, LD_* and MODAL_* are reserved).");
            }
            if (value.Length > MaxValueLength || value.Contains('\0'))
            {
                throw Errors.Invalid($"{rpc}: {field}[{key}] must have at most {MaxValueLength} characters and no NUL.");
            }
        }
    }
}
