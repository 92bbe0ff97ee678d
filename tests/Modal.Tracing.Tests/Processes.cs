using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Modal.Tracing.Tests;

/// <summary>The processes these tests start: the standalone control plane and the traced app, from this clone's build output.</summary>
internal static partial class Processes
{
    /// <summary>The admin token the control plane is started with (<see cref="ServerArguments"/>); every process started here presents it.</summary>
    public static readonly string TokenId = "tk-trace" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>The admin token's secret.</summary>
    public static readonly string TokenSecret = "ts-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

    /// <summary>The standalone control plane's arguments: a free port and the test token (a standalone server always requires one).</summary>
    public static string[] ServerArguments => ["--port", "0", "--token-id", TokenId, "--token-secret", TokenSecret];

    public static Process Start(string assembly, string[] arguments, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in start.Environment.Keys.Where(name => name.StartsWith("MODAL_", StringComparison.Ordinal) || name.StartsWith("OTEL_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }
        start.Environment["MODAL_TOKEN_ID"] = TokenId;
        start.Environment["MODAL_TOKEN_SECRET"] = TokenSecret;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        return Process.Start(start)!;
    }

    public static async Task<string> ReadUrlAsync(Process server)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await server.StandardOutput.ReadLineAsync(limit.Token) is { } line)
        {
            if (ListeningPattern().Match(line) is { Success: true } match)
            {
                return match.Groups[1].Value.TrimEnd('/');
            }
        }
        throw new InvalidOperationException($"The control plane exited: {await server.StandardError.ReadToEndAsync()}");
    }

    /// <summary>A project's build output in this clone, in the configuration these tests were built in.</summary>
    public static string BuildOutput(string project, string file)
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, project, "bin", configuration, "net10.0", file);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException($"{project}/bin/{configuration}/net10.0/{file} was not found above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"listening on (\S+)")]
    private static partial Regex ListeningPattern();
}
