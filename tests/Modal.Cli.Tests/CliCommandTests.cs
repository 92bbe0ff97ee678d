using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Modal.Cli.Tests;

/// <summary>token, profile, function stats, call, app logs and container commands against the fixture's server and app.</summary>
public sealed partial class CliTests
{
    private static readonly Dictionary<string, string?> s_noConnectionVariables = new()
    {
        ["MODAL_SERVER_URL"] = null, ["MODAL_TOKEN_ID"] = null, ["MODAL_TOKEN_SECRET"] = null,
    };

    [Fact]
    public async Task Token_new_list_and_revoke_manage_a_client_token_limited_to_one_app()
    {
        var created = await JsonAsync("token", "new", "--app", server.AppName, "--description", "cli test", "--expires", "1d");
        string tokenId = created.GetProperty("tokenId").GetString()!;
        string secret = created.GetProperty("tokenSecret").GetString()!;
        Assert.StartsWith("tk-", tokenId);
        Assert.Equal("client", created.GetProperty("kind").GetString());

        var listed = Assert.Single((await JsonAsync("token", "list")).EnumerateArray(), token => token.GetProperty("tokenId").GetString() == tokenId);
        Assert.Equal("client", listed.GetProperty("kind").GetString());
        Assert.Equal([server.AppName], listed.GetProperty("apps").EnumerateArray().Select(app => app.GetString()));
        Assert.Equal("cli test", listed.GetProperty("description").GetString());
        Assert.Equal("active", listed.GetProperty("state").GetString());
        long inADay = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds();
        Assert.InRange(listed.GetProperty("expiresUnixMs").GetInt64(), inADay - 600_000, inADay + 600_000);

        // The new token sees only its app, and may not manage tokens.
        var asClient = new Dictionary<string, string?> { ["MODAL_TOKEN_ID"] = tokenId, ["MODAL_TOKEN_SECRET"] = secret };
        var apps = await ModalTool.RunWithAsync(asClient, "app", "list", "--json", "--server", server.Url);
        Assert.Equal(0, apps.ExitCode);
        Assert.Equal([server.AppName], JsonDocument.Parse(apps.Output).RootElement.EnumerateArray().Select(app => app.GetProperty("name").GetString()).Distinct());
        var refused = await ModalTool.RunWithAsync(asClient, "token", "list", "--server", server.Url);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("needs an admin token", refused.Errors);

        var revoked = await ModalTool.RunAsync("token", "revoke", tokenId, "--server", server.Url);
        Assert.Equal(0, revoked.ExitCode);
        Assert.Contains($"Revoked token {tokenId}", revoked.Output);
        var after = Assert.Single((await JsonAsync("token", "list")).EnumerateArray(), token => token.GetProperty("tokenId").GetString() == tokenId);
        Assert.Equal("revoked", after.GetProperty("state").GetString());
        var rejected = await ModalTool.RunWithAsync(asClient, "app", "list", "--server", server.Url);
        Assert.Equal(1, rejected.ExitCode);
        Assert.Contains("refused the token", rejected.Errors);
    }

    [Fact]
    public async Task Token_new_prints_sourceable_lines_and_bad_options_or_ids_fail_clearly()
    {
        var plain = await ModalTool.RunAsync("token", "new", "--kind", "admin", "--server", server.Url);
        Assert.Equal(0, plain.ExitCode);
        Assert.Matches(@"^MODAL_TOKEN_ID=tk-\S+\nMODAL_TOKEN_SECRET=\S+\n$", plain.Output.Replace("\r", ""));
        Assert.Contains("shown only once", plain.Errors);

        var both = await ModalTool.RunAsync("token", "new", "--kind", "admin", "--app", "x", "--server", server.Url);
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("give --kind admin or --app, not both", both.Errors);

        var past = await ModalTool.RunAsync("token", "new", "--expires", "yesterday", "--server", server.Url);
        Assert.Equal(2, past.ExitCode);
        Assert.Contains("--expires 'yesterday'", past.Errors);

        var unknown = await ModalTool.RunAsync("token", "revoke", "tk-nosuchtoken", "--server", server.Url);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("Token 'tk-nosuchtoken' was not found", unknown.Errors);
    }

    [Fact]
    public async Task Token_new_saves_the_profile_which_the_variables_and_server_flag_override()
    {
        string profile = Path.Combine(Directory.CreateTempSubdirectory("modal-cli-profile-").FullName, ".modal.toml");
        try
        {
            var saved = await ModalTool.RunWithAsync(new Dictionary<string, string?> { ["MODAL_CONFIG_PATH"] = profile, ["MODAL_SERVER_URL"] = server.Url },
                "token", "new", "--app", server.AppName, "--save-profile", "--json");
            Assert.True(saved.ExitCode == 0, saved.Errors);
            string tokenId = JsonDocument.Parse(saved.Output).RootElement.GetProperty("tokenId").GetString()!;
            string[] lines = File.ReadAllLines(profile);
            Assert.Contains($"server_url = \"{server.Url}\"", lines);
            Assert.Contains($"token_id = \"{tokenId}\"", lines);
            Assert.Single(lines, line => line.StartsWith("token_secret = \"", StringComparison.Ordinal));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(profile));
            }

            // The profile alone: its server and its (app-limited) token.
            var fromProfile = new Dictionary<string, string?>(s_noConnectionVariables) { ["MODAL_CONFIG_PATH"] = profile };
            var apps = await ModalTool.RunWithAsync(fromProfile, "app", "list", "--json");
            Assert.True(apps.ExitCode == 0, apps.Errors);
            Assert.Equal([server.AppName], JsonDocument.Parse(apps.Output).RootElement.EnumerateArray().Select(app => app.GetProperty("name").GetString()).Distinct());

            // MODAL_SERVER_URL wins over server_url; --server wins over both.
            var variableWins = await ModalTool.RunWithAsync(new Dictionary<string, string?>(fromProfile) { ["MODAL_SERVER_URL"] = "http://127.0.0.1:9" }, "app", "list");
            Assert.Equal(1, variableWins.ExitCode);
            Assert.Contains("http://127.0.0.1:9 cannot be reached", variableWins.Errors);
            var flagWins = await ModalTool.RunWithAsync(new Dictionary<string, string?>(fromProfile) { ["MODAL_SERVER_URL"] = "http://127.0.0.1:9" }, "app", "list", "--server", server.Url);
            Assert.True(flagWins.ExitCode == 0, flagWins.Errors);

            // MODAL_TOKEN_ID and MODAL_TOKEN_SECRET win over the profile's token: the admin token may list tokens, the profile's may not.
            var profileToken = await ModalTool.RunWithAsync(new Dictionary<string, string?>(fromProfile) { ["MODAL_TOKEN_ID"] = null, ["MODAL_TOKEN_SECRET"] = null }, "token", "list");
            Assert.Equal(1, profileToken.ExitCode);
            Assert.Contains($"token {tokenId}", profileToken.Errors);
            var variableToken = await ModalTool.RunWithAsync(new Dictionary<string, string?>(fromProfile)
            {
                ["MODAL_TOKEN_ID"] = ModalTool.TokenId, ["MODAL_TOKEN_SECRET"] = ModalTool.TokenSecret,
            }, "token", "list", "--json");
            Assert.True(variableToken.ExitCode == 0, variableToken.Errors);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(profile)!, recursive: true);
        }
    }

    [Theory]
    [InlineData("[default]\nserver_url = \"http://x\"\n", "line 1", "starts a section")]
    [InlineData("# a comment\n\nserver = \"http://x\"\n", "line 3", "'server' is not a profile key. The keys are server_url, token_id, token_secret")]
    [InlineData("server_url = http://x\n", "line 1", "is not a double-quoted string. Write server_url = \"...\"")]
    [InlineData("token_id = \"a\"\ntoken_id = \"b\"\n", "line 2", "token_id is set a second time")]
    [InlineData("token_secret = \"abc\" trailing\n", "line 1", "is not a double-quoted string")]
    public async Task A_bad_profile_file_exits_2_naming_the_file_the_line_and_the_fix(string content, string line, string message)
    {
        string profile = Path.Combine(Path.GetTempPath(), "modal-cli-bad-" + Guid.NewGuid().ToString("N") + ".toml");
        await File.WriteAllTextAsync(profile, content);
        try
        {
            var result = await ModalTool.RunWithAsync(new Dictionary<string, string?> { ["MODAL_CONFIG_PATH"] = profile }, "app", "list", "--server", server.Url);

            Assert.Equal(2, result.ExitCode);
            Assert.Equal(string.Empty, result.Output);
            Assert.Contains($"{profile} {line}: ", result.Errors);
            Assert.Contains(message, result.Errors);
        }
        finally
        {
            File.Delete(profile);
        }
    }

    [Fact]
    public async Task Function_stats_shows_backlog_and_runners_and_an_unknown_function_fails_with_1()
    {
        var stats = await JsonAsync("function", "stats", server.AppName, "SlowAdd");
        Assert.Equal("SlowAdd", stats.GetProperty("function").GetString());
        Assert.StartsWith("fu-", stats.GetProperty("functionId").GetString());
        Assert.Equal(0, stats.GetProperty("backlog").GetInt32());
        Assert.InRange(stats.GetProperty("runners").GetInt32(), 0, 10);

        var table = await ModalTool.RunAsync("function", "stats", server.AppName, "SlowAdd", "--server", server.Url);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("Backlog", table.Output);
        Assert.Contains("Runners", table.Output);

        var unknown = await ModalTool.RunAsync("function", "stats", server.AppName, "NoSuchFunction", "--server", server.Url);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("NoSuchFunction", unknown.Errors);
        Assert.Contains($"modal function list --app {server.AppName}", unknown.Errors);
    }

    [Fact]
    public async Task Call_runs_a_deployed_function_with_JSON_arguments_and_prints_its_JSON_result()
    {
        var sum = await ModalTool.RunAsync("call", server.AppName, "SlowAdd", "3", "4", "--server", server.Url);
        Assert.True(sum.ExitCode == 0, sum.Errors);
        Assert.Equal(7, JsonDocument.Parse(sum.Output).RootElement.GetInt32());

        var text = await ModalTool.RunAsync("call", server.AppName, "ShortLived", "5", "--server", server.Url);
        Assert.True(text.ExitCode == 0, text.Errors);
        Assert.StartsWith("5:", JsonDocument.Parse(text.Output).RootElement.GetString());

        var array = await ModalTool.RunAsync("call", server.AppName, "ContainerCredentials", "--server", server.Url);
        Assert.True(array.ExitCode == 0, array.Errors);
        Assert.Equal(3, JsonDocument.Parse(array.Output).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task Call_of_a_function_that_throws_exits_1_with_the_remote_error()
    {
        var result = await ModalTool.RunAsync("call", server.AppName, "SurviveKill", "\"/nonexistent/modal-cli-test\"", "--server", server.Url);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(string.Empty, result.Output);
        Assert.Contains("SurviveKill failed remotely: System.IO.DirectoryNotFoundException", result.Errors);
        Assert.Contains("/nonexistent/modal-cli-test", result.Errors);
    }

    [Theory]
    [InlineData(new[] { "SlowAdd", "3", "{" }, "argument 2 ('{') is not JSON")]
    [InlineData(new[] { "SlowAdd", "3" }, "SlowAdd takes 2 argument(s) (SlowAdd(int left, int right) -> int) but 1 were given")]
    [InlineData(new[] { "NoSuchFunction", "1" }, "NoSuchFunction")]
    [InlineData(new[] { "SlowAdd", "\"three\"", "4" }, "Argument 'left' sent to function 'SlowAdd' does not decode as 'int'")]
    public async Task Call_with_bad_arguments_or_an_unknown_function_exits_2(string[] arguments, string message)
    {
        var result = await ModalTool.RunAsync(["call", server.AppName, .. arguments, "--server", server.Url]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Output);
        Assert.Contains(message, result.Errors);
    }

    [Fact]
    public async Task App_logs_follows_the_lines_a_call_writes_until_interrupted()
    {
        await WarmAsync("Chatty", "1");
        var (logs, output) = await LogsWhileChattyWritesAsync("following the logs of app", 2, "app", "logs", server.AppName, "-f", "--json");
        using var _ = logs;
        await output.WaitForOutputAsync("line 1 to stderr");
        Interrupt(logs);
        await logs.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(130, logs.ExitCode); // the shell's code for an interrupt
        var lines = output.Output.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Contains(lines, line => line.GetProperty("text").GetString() == "line 1 to stdout" && line.GetProperty("stream").GetString() == "stdout");
        Assert.Contains(lines, line => line.GetProperty("text").GetString() == "line 0 to stderr" && line.GetProperty("stream").GetString() == "stderr");
        Assert.All(lines, line => Assert.Equal("Chatty", line.GetProperty("functionName").GetString()));
        Assert.All(lines, line => Assert.StartsWith("ct-", line.GetProperty("containerId").GetString()));
    }

    [Fact]
    public async Task App_logs_without_follow_stops_once_the_app_is_quiet_and_an_unknown_app_fails_with_1()
    {
        await WarmAsync("Chatty", "1");
        var (logs, output) = await LogsWhileChattyWritesAsync("printing the logs of app", 1, "app", "logs", server.AppName, "--idle", "8");
        using var _ = logs;
        await logs.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, logs.ExitCode);
        Assert.Contains(output.Output, line => line.StartsWith("Chatty ct-", StringComparison.Ordinal) && line.EndsWith("| line 0 to stdout", StringComparison.Ordinal));
        Assert.Contains(output.Errors, line => line.EndsWith("| line 0 to stderr", StringComparison.Ordinal));

        var unknown = await ModalTool.RunAsync("app", "logs", "no-such-app", "--server", server.Url);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no running or deployed app has the id or name 'no-such-app'", unknown.Errors);
    }

    [Fact]
    public async Task Container_list_logs_and_stop_act_on_a_live_container()
    {
        await WarmAsync("Chatty", "1");
        var chatty = Assert.Single((await JsonAsync("container", "list", "--app", server.AppName)).EnumerateArray(),
            container => container.GetProperty("functionName").GetString() == "Chatty" && container.GetProperty("state").GetString() == "running");
        string containerId = chatty.GetProperty("containerId").GetString()!;
        Assert.Equal(server.AppName, chatty.GetProperty("appName").GetString());
        Assert.StartsWith("ap-", chatty.GetProperty("appId").GetString());

        // A token limited to another app neither sees nor stops this app's containers.
        var other = await JsonAsync("token", "new", "--app", "some-other-app");
        var asOther = new Dictionary<string, string?>
        {
            ["MODAL_TOKEN_ID"] = other.GetProperty("tokenId").GetString(), ["MODAL_TOKEN_SECRET"] = other.GetProperty("tokenSecret").GetString(),
        };
        var hidden = await ModalTool.RunWithAsync(asOther, "container", "list", "--json", "--server", server.Url);
        Assert.True(hidden.ExitCode == 0, hidden.Errors);
        Assert.Empty(JsonDocument.Parse(hidden.Output).RootElement.EnumerateArray());
        var refused = await ModalTool.RunWithAsync(asOther, "container", "stop", containerId, "--server", server.Url);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"may not reach app '{server.AppName}'", refused.Errors);

        var (logs, output) = await LogsWhileChattyWritesAsync($"printing the logs of container {containerId}", 1,
            "container", "logs", containerId, "--idle", "8", "--json");
        using (logs)
        {
            await logs.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(0, logs.ExitCode);
            Assert.NotEmpty(output.Output);
            Assert.All(output.Output, line => Assert.Equal(containerId, JsonDocument.Parse(line).RootElement.GetProperty("containerId").GetString()));
        }

        var stop = await ModalTool.RunAsync("container", "stop", containerId, "--server", server.Url);
        Assert.Equal(0, stop.ExitCode);
        Assert.Contains($"Asked container {containerId} to stop", stop.Output);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await JsonAsync("container", "list")).EnumerateArray().Any(container => container.GetProperty("containerId").GetString() == containerId))
        {
            Assert.True(DateTime.UtcNow < deadline, $"Container {containerId} is still listed a minute after it was asked to stop.");
            await Task.Delay(500);
        }

        var gone = await ModalTool.RunAsync("container", "stop", containerId, "--server", server.Url);
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains($"Container '{containerId}' was not found", gone.Errors);
        var noLogs = await ModalTool.RunAsync("container", "logs", containerId, "--server", server.Url);
        Assert.Equal(1, noLogs.ExitCode);
        Assert.Contains($"no live container has the id '{containerId}'", noLogs.Errors);
    }

    [Fact]
    public async Task Run_runs_a_project_with_the_profiles_server_and_token_in_its_environment()
    {
        string profile = Path.Combine(Directory.CreateTempSubdirectory("modal-cli-run-").FullName, ".modal.toml");
        await File.WriteAllTextAsync(profile,
            $"server_url = \"{server.Url}\"\ntoken_id = \"{ModalTool.TokenId}\"\ntoken_secret = \"{ModalTool.TokenSecret}\"\n");
        string name = "cli-run-" + Guid.NewGuid().ToString("N")[..8];
        string project = ModalTool.ProjectDirectory("tests/Modal.Integration.Functions", "Modal.Integration.Functions.csproj");
        try
        {
            // --no-build: the other tests run this project's build output; the app's own "deploy NAME" mode deploys it.
            var run = await ModalTool.RunWithAsync(new Dictionary<string, string?>(s_noConnectionVariables) { ["MODAL_CONFIG_PATH"] = profile },
                "run", project, "--no-build", "-c", ModalTool.Configuration, "--", "deploy", name);

            Assert.True(run.ExitCode == 0, run.Output + run.Errors);
            Assert.Contains($"deployed={name}", run.Output);
            var app = Assert.Single((await JsonAsync("app", "list")).EnumerateArray(), item => item.GetProperty("name").GetString() == name);
            Assert.Equal("deployed", app.GetProperty("state").GetString());
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(profile)!, recursive: true);
        }
    }

    [Fact]
    public async Task Run_of_a_missing_project_exits_2_and_a_failing_app_exits_1()
    {
        var missing = await ModalTool.RunAsync("run", "/nonexistent/project", "--server", server.Url);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("the project '/nonexistent/project' does not exist", missing.Errors);

        // The app's "get ID" mode fails for a call id that does not exist.
        string project = ModalTool.ProjectDirectory("tests/Modal.Integration.Functions", "Modal.Integration.Functions.csproj");
        var failing = await ModalTool.RunAsync("run", project, "--no-build", "-c", ModalTool.Configuration, "--server", server.Url, "--", "get", "fc-nosuchcall");
        Assert.Equal(1, failing.ExitCode);
        Assert.Contains("the app Modal.Integration.Functions exited with code", failing.Errors);
    }

    private async Task<JsonElement> JsonAsync(params string[] arguments)
    {
        var result = await ModalTool.RunAsync([.. arguments, "--json", "--server", server.Url]);
        Assert.True(result.ExitCode == 0, $"modal {string.Join(' ', arguments)} failed: {result.Errors}");
        return JsonDocument.Parse(result.Output).RootElement;
    }

    private async Task CallAsync(string function, params string[] arguments)
    {
        var result = await ModalTool.RunAsync(["call", server.AppName, function, .. arguments, "--server", server.Url]);
        Assert.True(result.ExitCode == 0, $"modal call {function} failed: {result.Errors}");
    }

    /// <summary>Starts a logs command, waits until it says it is connected, then has Chatty write <paramref name="lines"/> lines to each stream.</summary>
    private async Task<(Process Logs, LineCollector Output)> LogsWhileChattyWritesAsync(string announcement, int lines, params string[] arguments)
    {
        var logs = ModalTool.Start([.. arguments, "--server", server.Url]);
        var output = new LineCollector(logs);
        await output.WaitForErrorAsync(announcement);
        await CallAsync("Chatty", lines.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return (logs, output);
    }

    /// <summary>Calls once so that a container of the function runs: later calls then write their lines within a second.</summary>
    private Task WarmAsync(string function, params string[] arguments) => CallAsync(function, arguments);

    private static void Interrupt(Process process)
    {
        using var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Collects a started tool's output and error lines as they come.</summary>
    private sealed class LineCollector
    {
        private readonly List<string> _output = [];
        private readonly List<string> _errors = [];

        public LineCollector(Process process)
        {
            process.OutputDataReceived += (_, e) => Add(_output, e.Data);
            process.ErrorDataReceived += (_, e) => Add(_errors, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public IReadOnlyList<string> Output { get { lock (_output) { return [.. _output]; } } }

        public IReadOnlyList<string> Errors { get { lock (_errors) { return [.. _errors]; } } }

        public Task WaitForOutputAsync(string text) => WaitAsync(() => Output, text);

        public Task WaitForErrorAsync(string text) => WaitAsync(() => Errors, text);

        private static void Add(List<string> lines, string? line)
        {
            if (line is not null)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        }

        private async Task WaitAsync(Func<IReadOnlyList<string>> lines, string text)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!lines().Any(line => line.Contains(text, StringComparison.Ordinal)))
            {
                if (DateTime.UtcNow > deadline)
                {
                    var seen = new StringBuilder().AppendJoin('\n', Output).Append('\n').AppendJoin('\n', Errors);
                    Assert.Fail($"'{text}' did not appear within a minute. Seen:\n{seen}");
                }
                await Task.Delay(100);
            }
        }
    }
}
