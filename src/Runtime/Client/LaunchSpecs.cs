using Modal.Api;

namespace Modal;

/// <summary>How the control plane starts this app's workers: the assembly that holds the generated entrypoint, in worker mode.</summary>
internal static class LaunchSpecs
{
    /// <summary>
    /// <c>dotnet &lt;entrypoint assembly&gt;.dll</c>, from the directory of that assembly. With several entrypoints
    /// (an app that references a library of functions) the first executable assembly among them is used, else the first.
    /// A NativeAOT process (no assembly files) launches its own executable.
    /// </summary>
    public static WorkerLaunchSpec ForEntrypoints(IReadOnlyList<IFunctionEntrypoint> entrypoints)
    {
        var spec = new WorkerLaunchSpec();
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported && entrypoints.Count > 0 && Environment.ProcessPath is { } native)
        {
            spec.Executable = native;
            spec.WorkingDirectory = AppContext.BaseDirectory;
        }
        else
        {
            spec.Executable = DotnetHost();
            spec.WorkingDirectory = ManagedEntry(entrypoints, out string path);
            spec.Arguments.Add(path);
        }
        // Workers get a minimal environment; the OpenTelemetry settings go with them, so that they export where the app does.
        foreach (System.Collections.DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            if (variable.Key is string name && name.StartsWith("OTEL_", StringComparison.Ordinal) && variable.Value is string value)
            {
                spec.Environment[name] = value;
            }
        }
        return spec;
    }

    /// <summary>The file a launch runs: the entry assembly given to <c>dotnet</c>, or a NativeAOT executable.</summary>
    public static string EntryFile(WorkerLaunchSpec spec) => spec.Arguments.Count > 0 ? spec.Arguments[0] : spec.Executable;

    /// <summary>The directory of the managed entry assembly; its path in <paramref name="path"/>.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000",
        Justification = "Only with the JIT: a NativeAOT process launches its executable instead; a single-file app without assembly paths gets the error below.")]
    private static string ManagedEntry(IReadOnlyList<IFunctionEntrypoint> entrypoints, out string path)
    {
        if (entrypoints.Count == 0)
        {
            throw new InvalidOperationException(
                "No [Function] methods are compiled into this process. Reference Modal.Generator as an analyzer in the project " +
                "that declares them, and make sure that assembly is loaded before ModalApp.RunAsync.");
        }
        var entry = System.Reflection.Assembly.GetEntryAssembly();
        var chosen = entrypoints.FirstOrDefault(e => e.GetType().Assembly == entry) ?? entrypoints[0];
        path = chosen.GetType().Assembly.Location;
        if (string.IsNullOrEmpty(path))
        {
            throw new InvalidOperationException(
                $"The assembly of app '{chosen.DefaultAppName}' has no file path (single-file or in-memory), so worker processes cannot be launched from it.");
        }
        return Path.GetDirectoryName(path) ?? Environment.CurrentDirectory;
    }

    /// <summary>The dotnet host running this process when it is one, else <c>dotnet</c> from the PATH.</summary>
    private static string DotnetHost()
    {
        var process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return process;
        }
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root))
        {
            var candidate = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return "dotnet";
    }
}
