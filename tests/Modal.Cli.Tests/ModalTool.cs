using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Modal.Cli.Tests;

/// <summary>Runs this clone's built `modal` tool (and the apps it manages) as processes.</summary>
internal static partial class ModalTool
{
    public sealed record Result(int ExitCode, string Output, string Errors);

    public static string ToolAssembly => BuildOutput("src/Cli", "modal.dll");

    public static async Task<Result> RunAsync(params string[] arguments) => await RunAsync(ToolAssembly, arguments);

    /// <summary>Runs the tool with these variables (a null value removes one) and waits for it to exit.</summary>
    public static async Task<Result> RunWithAsync(IReadOnlyDictionary<string, string?> environment, params string[] arguments)
        => await RunAsync(ToolAssembly, arguments, environment);

    /// <summary>Starts the tool without waiting for it, its output redirected (a command that runs until stopped).</summary>
    public static Process Start(params string[] arguments) => Process.Start(StartInfo(ToolAssembly, arguments, null))!;

    /// <summary>Runs a process and waits for it to exit; one still running after <paramref name="limit"/> (default 2 minutes) is killed.</summary>
    public static async Task<Result> RunAsync(string assembly, string[] arguments, IReadOnlyDictionary<string, string?>? environment = null,
        TimeSpan? limit = null)
    {
        using var process = Process.Start(StartInfo(assembly, arguments, environment))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(limit ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{string.Join(' ', arguments)}' did not exit within {limit ?? TimeSpan.FromMinutes(2)}: {await output}{await errors}");
        }
        return new Result(process.ExitCode, await output, await errors);
    }

    /// <summary>Starts `modal server --port 0 --db FILE` and returns it with the URL it printed.</summary>
    /// <param name="databaseFile">The SQLite file.</param>
    /// <param name="options">More options of `modal server` (a launcher, a registry).</param>
    public static async Task<(Process Server, string Url)> StartServerAsync(string databaseFile, params string[] options)
    {
        var server = Process.Start(StartInfo(ToolAssembly,
            ["server", "--port", "0", "--db", databaseFile, "--token-id", TokenId, "--token-secret", TokenSecret, .. options], null))!;
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new StringBuilder();
        while (await server.StandardOutput.ReadLineAsync(limit.Token) is { } line)
        {
            seen.AppendLine(line);
            if (ListeningPattern().Match(line) is { Success: true } match)
            {
                return (server, match.Groups[1].Value.TrimEnd('/'));
            }
        }
        throw new InvalidOperationException($"`modal server` exited: {seen}{await server.StandardError.ReadToEndAsync()}");
    }

    /// <summary>The admin token the test servers are started with; every process started here presents it.</summary>
    public static readonly string TokenId = "tk-cli" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>The admin token's secret.</summary>
    public static readonly string TokenSecret = "ts-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

    /// <summary>A profile file path that does not exist, so that no test reads the real ~/.modal.toml.</summary>
    public static readonly string NoProfile = Path.Combine(Path.GetTempPath(), "modal-cli-test-no-profile-" + Guid.NewGuid().ToString("N"), ".modal.toml");

    private static ProcessStartInfo StartInfo(string assembly, string[] arguments, IReadOnlyDictionary<string, string?>? environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in start.Environment.Keys.Where(name => name.StartsWith("MODAL_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }
        // A standalone server always requires a token.
        start.Environment["MODAL_TOKEN_ID"] = TokenId;
        start.Environment["MODAL_TOKEN_SECRET"] = TokenSecret;
        start.Environment["MODAL_CONFIG_PATH"] = NoProfile;
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }
        return start;
    }

    /// <summary>The configuration these tests were built in (Debug or Release).</summary>
    public static string Configuration => new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    /// <summary>A project's build output in this clone, in the configuration these tests were built in.</summary>
    public static string BuildOutput(string project, string file)
        => Path.Combine(ProjectDirectory(project, Path.Combine("bin", Configuration, "net10.0", file)), "bin", Configuration, "net10.0", file);

    /// <summary>A project's folder in this clone: the first folder above the tests' own that holds <paramref name="project"/>/<paramref name="inside"/>.</summary>
    public static string ProjectDirectory(string project, string inside)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, project, inside)))
            {
                return Path.Combine(directory.FullName, project);
            }
        }
        throw new FileNotFoundException($"{project}/{inside} was not found above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"listening on (\S+)")]
    private static partial Regex ListeningPattern();
}
