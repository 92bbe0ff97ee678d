using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Modal.Packages.Tests;

/// <summary>
/// A new user's first steps, outside the repository: `dotnet new console`, `dotnet add package Modal` (and
/// Modal.Server) from a local folder feed, one [Function], `dotnet run`. Nothing of the repository is referenced but the
/// packages made from it.
/// </summary>
public sealed partial class FreshAppTests(LocalFeed feed) : IClassFixture<LocalFeed>
{
    private const string Functions = """
        using Modal;

        [assembly: ModalApp("fresh")]

        namespace Fresh;

        public static partial class Calc
        {
            [Function]
            public static int Square(int x) => x * x;

            [Function]
            public static int ProcessId() => Environment.ProcessId;
        }
        """;

    private const string Program = """
        using Fresh;
        using Modal;

        await using var app = await ModalApp.RunAsync(args);
        Console.WriteLine($"mode={app.Mode}");
        Console.WriteLine($"square={await Calc.Functions.Square.RemoteAsync(7)}");
        int sum = 0;
        await foreach (int result in Calc.Functions.Square.Map(Enumerable.Range(1, 20)))
        {
            sum += result;
        }
        Console.WriteLine($"sum={sum}");
        Console.WriteLine($"ran-in-another-process={await Calc.Functions.ProcessId.RemoteAsync() != Environment.ProcessId}");
        """;

    [Fact]
    public async Task Packages_are_made_without_warnings_and_Modal_carries_the_generator_as_an_analyzer()
    {
        Assert.DoesNotMatch(WarningPattern(), feed.PackOutput);
        using var modal = System.IO.Compression.ZipFile.OpenRead(Path.Combine(feed.Folder, $"Modal.{feed.Version}.nupkg"));
        var entries = modal.Entries.Select(entry => entry.FullName).ToHashSet();
        Assert.Contains("analyzers/dotnet/cs/Modal.Generator.dll", entries);
        Assert.Contains("lib/net10.0/Modal.Runtime.dll", entries);
        Assert.Contains("lib/net10.0/Modal.Abstractions.dll", entries);
        Assert.Contains("README.md", entries);
        Assert.True(File.Exists(Path.Combine(feed.Folder, $"Modal.{feed.Version}.snupkg")), "Modal has no symbols package.");
        Assert.True(File.Exists(Path.Combine(feed.Folder, $"Modal.Server.{feed.Version}.nupkg")));
        Assert.True(File.Exists(Path.Combine(feed.Folder, $"Modal.Cli.{feed.Version}.nupkg")));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_fresh_console_app_with_Modal_and_Modal_Server_from_the_feed_runs_a_function_embedded()
    {
        var app = await CreateAppAsync("embedded", "Modal", "Modal.Server");

        var output = await CommandRunner.RunCheckedAsync("dotnet", [app.Assembly], app.Directory, LocalFeed.CommandTimeout);

        Assert.Contains("mode=Embedded", output);
        Assert.Contains("square=49", output);
        Assert.Contains("sum=2870", output);
        Assert.Contains("ran-in-another-process=True", output);
    }

    [Fact]
    public async Task An_app_with_Modal_alone_says_to_add_Modal_Server_or_set_the_server_URL()
    {
        var app = await CreateAppAsync("client-only", "Modal");
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(app.Assembly)!, "Modal.Server.dll")),
            "An app that references Modal alone must not carry the control plane.");

        var result = await CommandRunner.RunAsync("dotnet", [app.Assembly], app.Directory, LocalFeed.CommandTimeout);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("dotnet add package Modal.Server", result.Output);
        Assert.Contains("MODAL_SERVER_URL", result.Output);
    }

    [Fact]
    public async Task The_modal_tool_from_the_feed_runs_a_server_that_a_client_only_app_uses()
    {
        var app = await CreateAppAsync("remote", "Modal");
        var tools = Path.Combine(feed.Root, "tools");
        // A standalone server always requires a token: the test starts it with one and gives it to the app.
        var tokenId = "tk-pkg" + Guid.NewGuid().ToString("N")[..12];
        var tokenSecret = "ts-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        await CommandRunner.RunCheckedAsync(
            "dotnet", ["tool", "install", "Modal.Cli", "--tool-path", tools, "--version", feed.Version, "--add-source", feed.Folder],
            feed.Root, LocalFeed.CommandTimeout);

        using var server = new Process
        {
            StartInfo = CommandRunner.StartInfo(
                Path.Combine(tools, "modal"),
                ["server", "--port", "0", "--db", Path.Combine(feed.Root, "server.db"), "--token-id", tokenId, "--token-secret", tokenSecret],
                feed.Root, null),
        };
        server.Start();
        try
        {
            var url = await ReadListeningUrlAsync(server);
            var output = await CommandRunner.RunCheckedAsync(
                "dotnet", [app.Assembly], app.Directory, LocalFeed.CommandTimeout,
                new Dictionary<string, string> { ["MODAL_SERVER_URL"] = url, ["MODAL_TOKEN_ID"] = tokenId, ["MODAL_TOKEN_SECRET"] = tokenSecret });

            Assert.Contains("mode=Remote", output);
            Assert.Contains("square=49", output);
            Assert.Contains("sum=2870", output);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private sealed record App(string Directory, string Assembly);

    /// <summary>`dotnet new console`, `dotnet add package` for each package from the feed, the function files, `dotnet build`.</summary>
    private async Task<App> CreateAppAsync(string name, params string[] packages)
    {
        var directory = Path.Combine(feed.Root, name);
        await CommandRunner.RunCheckedAsync("dotnet", ["new", "console", "-o", directory, "-n", "FreshApp"], feed.Root, LocalFeed.CommandTimeout);
        foreach (var package in packages)
        {
            await CommandRunner.RunCheckedAsync(
                "dotnet", ["add", "package", package, "--version", feed.Version, "--source", feed.Folder], directory, LocalFeed.CommandTimeout);
        }
        await File.WriteAllTextAsync(Path.Combine(directory, "Calc.cs"), Functions);
        await File.WriteAllTextAsync(Path.Combine(directory, "Program.cs"), Program);
        var build = await CommandRunner.RunCheckedAsync("dotnet", ["build", "-c", "Release"], directory, LocalFeed.CommandTimeout);
        Assert.DoesNotMatch(WarningPattern(), build);
        var assembly = Path.Combine(directory, "bin", "Release", "net10.0", "FreshApp.dll");
        Assert.True(File.Exists(assembly), $"The build made no {assembly}:\n{build}");
        return new App(directory, assembly);
    }

    private static async Task<string> ReadListeningUrlAsync(Process server)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<string>();
        while (await server.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            seen.Add(line);
            if (ListeningPattern().Match(line) is { Success: true } match)
            {
                return match.Groups[1].Value;
            }
        }
        throw new InvalidOperationException(
            $"`modal server` exited without saying where it listens. It printed:\n{string.Join('\n', seen)}\n{await server.StandardError.ReadToEndAsync()}");
    }

    [GeneratedRegex(@"listening on (\S+)")]
    private static partial Regex ListeningPattern();

    // MSBuild's summary line "0 Warning(s)" is fine; a warning line is "<file>(line,col): warning XX1234: ...".
    [GeneratedRegex(@":\s+warning\s+[A-Z]+\d+", RegexOptions.IgnoreCase)]
    private static partial Regex WarningPattern();
}
