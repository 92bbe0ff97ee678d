using Modal.Api;

namespace Modal;

/// <summary>How the control plane starts this app's workers: the assembly that holds the generated entrypoint, in worker mode.</summary>
internal static class LaunchSpecs
{
    /// <summary>
    /// <c>dotnet &lt;entrypoint assembly&gt;.dll</c>, from the directory of that assembly. With several entrypoints
    /// (an app that references a library of functions) the first executable assembly among them is used, else the first.
    /// </summary>
    public static WorkerLaunchSpec ForEntrypoints(IReadOnlyList<IFunctionEntrypoint> entrypoints)
    {
        if (entrypoints.Count == 0)
        {
            throw new InvalidOperationException(
                "No [Function] methods are compiled into this process. Reference Modal.Generator as an analyzer in the project " +
                "that declares them, and make sure that assembly is loaded before ModalApp.RunAsync.");
        }
        var entry = System.Reflection.Assembly.GetEntryAssembly();
        var chosen = entrypoints.FirstOrDefault(e => e.GetType().Assembly == entry) ?? entrypoints[0];
        var path = chosen.GetType().Assembly.Location;
        if (string.IsNullOrEmpty(path))
        {
            throw new InvalidOperationException(
                $"The assembly of app '{chosen.DefaultAppName}' has no file path (single-file or in-memory), so worker processes cannot be launched from it.");
        }
        var spec = new WorkerLaunchSpec
        {
            Executable = DotnetHost(),
            WorkingDirectory = Path.GetDirectoryName(path) ?? Environment.CurrentDirectory,
        };
        spec.Arguments.Add(path);
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
