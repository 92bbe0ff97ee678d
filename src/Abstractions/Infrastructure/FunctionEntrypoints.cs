using System.ComponentModel;

namespace Modal;

/// <summary>The entrypoints of the assemblies loaded in this process; generated module initializers register them.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class FunctionEntrypoints
{
    private static readonly Lock s_gate = new();
    private static IFunctionEntrypoint[] s_all = [];

    /// <summary>Registers an assembly's entrypoint; called once per assembly from generated code.</summary>
    /// <exception cref="InvalidOperationException">
    /// Another assembly of the same app already exposes a function of the same name: a call by name could not tell
    /// them apart.
    /// </exception>
    public static void Register(IFunctionEntrypoint entrypoint)
    {
        ArgumentNullException.ThrowIfNull(entrypoint);
        lock (s_gate)
        {
            if (Array.IndexOf(s_all, entrypoint) >= 0)
            {
                return;
            }
            foreach (var other in s_all)
            {
                if (!string.Equals(other.DefaultAppName, entrypoint.DefaultAppName, StringComparison.Ordinal))
                {
                    continue;
                }
                var clash = entrypoint.Functions.FirstOrDefault(function => other.Functions.Any(existing => existing.Name == function.Name));
                if (clash is not null)
                {
                    throw new InvalidOperationException(
                        $"App '{entrypoint.DefaultAppName}' has two functions named '{clash.Name}': one in {other.GetType().Assembly.GetName().Name} " +
                        $"and one in {entrypoint.GetType().Assembly.GetName().Name}. Function names must be unique within an app; " +
                        "rename one with [Function(Name = \"...\")] or put the assemblies in different apps with [assembly: ModalApp(\"...\")].");
                }
            }
            s_all = [.. s_all, entrypoint];
        }
    }

    /// <summary>Every registered entrypoint.</summary>
    public static IReadOnlyList<IFunctionEntrypoint> All => Volatile.Read(ref s_all);
}
