using System.ComponentModel;

namespace Modal;

/// <summary>The entrypoints of the assemblies loaded in this process; generated module initializers register them.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class FunctionEntrypoints
{
    private static readonly Lock s_gate = new();
    private static IFunctionEntrypoint[] s_all = [];

    /// <summary>Registers an assembly's entrypoint; called once per assembly from generated code.</summary>
    public static void Register(IFunctionEntrypoint entrypoint)
    {
        ArgumentNullException.ThrowIfNull(entrypoint);
        lock (s_gate)
        {
            if (Array.IndexOf(s_all, entrypoint) < 0)
            {
                s_all = [.. s_all, entrypoint];
            }
        }
    }

    /// <summary>Every registered entrypoint.</summary>
    public static IReadOnlyList<IFunctionEntrypoint> All => Volatile.Read(ref s_all);

    /// <summary>The entrypoint that defines <paramref name="functionName"/>, or null.</summary>
    public static IFunctionEntrypoint? Find(string functionName)
    {
        foreach (var entrypoint in All)
        {
            foreach (var function in entrypoint.Functions)
            {
                if (function.Name == functionName)
                {
                    return entrypoint;
                }
            }
        }
        return null;
    }
}
