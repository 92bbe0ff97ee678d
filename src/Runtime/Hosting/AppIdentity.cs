using System.Reflection;
using System.Runtime.CompilerServices;

namespace Modal.Hosting;

/// <summary>Finds this process's generated entrypoints and the name of the app they form.</summary>
internal static class AppIdentity
{
    private const string AbstractionsAssemblyName = "Modal.Abstractions";

    /// <summary>
    /// The app's name: <see cref="ModalAppOptions.AppName"/>, else the entry assembly's <c>[assembly: ModalApp]</c>,
    /// else the one app whose functions are loaded, else the entry assembly's name.
    /// </summary>
    public static string ResolveAppName(ModalAppOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.AppName))
        {
            return options.AppName;
        }
        var entryAssembly = Assembly.GetEntryAssembly();
        var withFunctions = FunctionEntrypoints.All.Where(entrypoint => entrypoint.Functions.Count > 0).ToList();
        var own = withFunctions.FirstOrDefault(entrypoint => entrypoint.GetType().Assembly == entryAssembly);
        if (own is not null)
        {
            return own.DefaultAppName;
        }
        var names = withFunctions.Select(entrypoint => entrypoint.DefaultAppName).Distinct(StringComparer.Ordinal).ToList();
        return names.Count switch
        {
            1 => names[0],
            0 => entryAssembly?.GetName().Name ?? "app",
            _ => throw new InvalidOperationException(
                $"Functions of several apps are loaded in this process ({string.Join(", ", names)}); " +
                "name the one to run with ModalAppOptions.AppName."),
        };
    }

    /// <summary>
    /// The entrypoints whose functions the app named <paramref name="appName"/> runs: those compiled for that name,
    /// else (an app renamed with <see cref="ModalAppOptions.AppName"/>) those of the app <see cref="ResolveAppName"/>
    /// picks without a name; empty when that is ambiguous. Functions of any other app loaded in the process are not
    /// part of it.
    /// </summary>
    public static IReadOnlyList<IFunctionEntrypoint> EntrypointsOf(string appName)
    {
        var withFunctions = FunctionEntrypoints.All.Where(entrypoint => entrypoint.Functions.Count > 0).ToList();
        if (!withFunctions.Any(entrypoint => entrypoint.DefaultAppName == appName))
        {
            var entryAssembly = Assembly.GetEntryAssembly();
            var own = withFunctions.FirstOrDefault(entrypoint => entrypoint.GetType().Assembly == entryAssembly);
            var names = withFunctions.Select(entrypoint => entrypoint.DefaultAppName).Distinct(StringComparer.Ordinal).ToList();
            appName = own?.DefaultAppName ?? (names.Count == 1 ? names[0] : appName);
        }
        return withFunctions.Where(entrypoint => entrypoint.DefaultAppName == appName).ToList();
    }

    /// <summary>
    /// Generated entrypoints register from module initializers, which run when their assembly is first used. A test
    /// host (or any process whose entry assembly is not the app) may start the app before touching a function, so
    /// this runs the module initializers of loaded assemblies built against Modal, and of the ones they reference.
    /// Startup only; calls never use reflection.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026",
        Justification = "Only with the JIT: a NativeAOT process returns first, as it has run every module initializer at startup.")]
    public static void EnsureEntrypointsRegistered()
    {
        // NativeAOT runs the module initializers of every assembly in the executable before Main, so the entrypoints are
        // registered already, and assemblies cannot be loaded by name.
        if (FunctionEntrypoints.All.Count > 0 || !RuntimeFeature.IsDynamicCodeSupported)
        {
            return;
        }
        var pending = new Queue<Assembly>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (Assembly.GetEntryAssembly() is { } entry)
        {
            pending.Enqueue(entry);
        }
        foreach (var loaded in AppDomain.CurrentDomain.GetAssemblies())
        {
            pending.Enqueue(loaded);
        }
        while (pending.TryDequeue(out var assembly))
        {
            if (assembly.IsDynamic || !seen.Add(assembly.FullName ?? assembly.GetName().Name ?? string.Empty))
            {
                continue;
            }
            var references = assembly.GetReferencedAssemblies();
            if (!references.Any(reference => reference.Name == AbstractionsAssemblyName))
            {
                continue;
            }
            RuntimeHelpers.RunModuleConstructor(assembly.ManifestModule.ModuleHandle);
            foreach (var reference in references)
            {
                if (IsPlatformAssembly(reference.Name) || seen.Contains(reference.FullName))
                {
                    continue;
                }
                try
                {
                    pending.Enqueue(Assembly.Load(reference));
                }
                catch (Exception exception) when (exception is FileNotFoundException or FileLoadException or BadImageFormatException)
                {
                    // A reference that is not deployed next to the app cannot hold its functions.
                }
            }
        }
    }

    private static bool IsPlatformAssembly(string? name)
        => name is null
           || name.StartsWith("System", StringComparison.Ordinal)
           || name.StartsWith("Microsoft", StringComparison.Ordinal)
           || name.StartsWith("MessagePack", StringComparison.Ordinal)
           || name.StartsWith("xunit", StringComparison.Ordinal)
           || name is "netstandard" or "mscorlib" or AbstractionsAssemblyName or "Modal.Runtime";
}
