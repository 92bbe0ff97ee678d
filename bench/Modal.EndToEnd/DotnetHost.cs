namespace Modal.EndToEnd;

/// <summary>The dotnet host that runs this runner (or the one on PATH), for the processes it starts.</summary>
internal static class DotnetHost
{
    public static string Path
        => Environment.ProcessPath is { } host && System.IO.Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
}
