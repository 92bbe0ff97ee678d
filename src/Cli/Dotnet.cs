using System.Diagnostics;
using System.Text;

namespace Modal.Cli;

/// <summary>
/// Runs <c>dotnet</c> for <c>modal run</c> and <c>modal deploy</c>: with the control plane and token the tool resolved in
/// its environment (<c>MODAL_SERVER_URL</c>, <c>MODAL_TOKEN_ID</c>, <c>MODAL_TOKEN_SECRET</c>), its output on this console or
/// captured, killed with its children when the command is cancelled (Ctrl+C).
/// </summary>
internal static class Dotnet
{
    /// <summary>What a finished <c>dotnet</c> printed (empty when it wrote to the console) and its exit code.</summary>
    public sealed record Result(int ExitCode, string Output);

    /// <summary>The project file: the path itself, or the one .csproj in that folder.</summary>
    public static string FindProject(string path)
    {
        if (File.Exists(path) && path.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase))
        {
            return Path.GetFullPath(path);
        }
        if (!Directory.Exists(path))
        {
            throw new UsageException($"the project '{path}' does not exist. Give a .csproj file or the folder that holds it.");
        }
        var projects = Directory.GetFiles(path, "*.csproj");
        return projects.Length == 1
            ? Path.GetFullPath(projects[0])
            : throw new UsageException(projects.Length == 0
                ? $"the folder '{path}' holds no .csproj file. Give the app's project folder or its .csproj file."
                : $"the folder '{path}' holds {projects.Length} projects ({string.Join(", ", projects.Select(Path.GetFileName))}); name one of them.");
    }

    /// <summary>
    /// Runs <c>dotnet</c> with <paramref name="arguments"/> and the connection (plus <paramref name="environment"/>) in its
    /// environment. With <paramref name="capture"/> its standard output and error are collected (interleaved) instead of shown.
    /// </summary>
    public static Task<Result> RunAsync(IEnumerable<string> arguments, Connection connection, bool capture, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
        => StartAsync("dotnet", arguments, connection, capture, cancellationToken, environment, workingDirectory);

    /// <summary>Runs a published app: <c>dotnet ENTRY.dll</c>, or a NativeAOT app's executable itself.</summary>
    public static Task<Result> RunAppAsync(string entry, Connection connection, bool capture, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
        => entry.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? RunAsync([entry], connection, capture, cancellationToken, environment, workingDirectory)
            : StartAsync(entry, [], connection, capture, cancellationToken, environment, workingDirectory);

    private static async Task<Result> StartAsync(string fileName, IEnumerable<string> arguments, Connection connection, bool capture,
        CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment, string? workingDirectory)
    {
        var start = new ProcessStartInfo(fileName) { UseShellExecute = false, RedirectStandardOutput = capture, RedirectStandardError = capture };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }
        start.Environment["MODAL_SERVER_URL"] = connection.ServerUrls;
        if (connection.TokenId is { } tokenId && connection.TokenSecret is { } tokenSecret)
        {
            start.Environment["MODAL_TOKEN_ID"] = tokenId;
            start.Environment["MODAL_TOKEN_SECRET"] = tokenSecret;
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start) ?? throw new FailedException($"'{fileName}' could not be started.");
        var output = new StringBuilder();
        if (capture)
        {
            process.OutputDataReceived += (_, line) => Append(output, line.Data);
            process.ErrorDataReceived += (_, line) => Append(output, line.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // Ctrl+C: the app goes with the tool
            throw;
        }
        lock (output)
        {
            return new Result(process.ExitCode, output.ToString());
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
