using System.Diagnostics;
using System.Text.Json;

namespace Modal.Cli.Tests;

/// <summary>`modal server` from the built tool on loopback, with an app deployed on it by another process.</summary>
public sealed class ToolServerFixture : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modal-cli-test-").FullName;
    private Process? _server;

    public string Url { get; private set; } = string.Empty;

    public string AppName { get; } = "cli-" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        (_server, Url) = await ModalTool.StartServerAsync(Path.Combine(_directory, "modal.db"));
        var deploy = await ModalTool.RunAsync(
            ModalTool.BuildOutput("tests/Modal.Integration.Functions", "Modal.Integration.Functions.dll"), ["deploy", AppName],
            new Dictionary<string, string?> { ["MODAL_SERVER_URL"] = Url });
        Assert.True(deploy.ExitCode == 0, $"Deploying {AppName} failed: {deploy.Output}{deploy.Errors}");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
            _server.Dispose();
        }
        Directory.Delete(_directory, recursive: true);
    }
}

[Collection(ToolCollection.Name)]
public sealed partial class CliTests(ToolServerFixture server) : IClassFixture<ToolServerFixture>
{
    [Theory]
    [InlineData(new[] { "--help" }, "modal [command] [options]")]
    [InlineData(new[] { "server", "--help" }, "--db <FILE|URL>")]
    [InlineData(new[] { "app", "--help" }, "modal app [command] [options]")]
    [InlineData(new[] { "app", "list", "--help" }, "--json")]
    [InlineData(new[] { "app", "stop", "--help" }, "<app>")]
    [InlineData(new[] { "function", "list", "--help" }, "--app <NAME>")]
    [InlineData(new[] { "function", "stats", "--help" }, "<function>")]
    [InlineData(new[] { "app", "logs", "--help" }, "--follow")]
    [InlineData(new[] { "call", "--help" }, "<json-args>")]
    [InlineData(new[] { "run", "--help" }, "--no-build")]
    [InlineData(new[] { "deploy", "--help" }, "--property <NAME=VALUE>")]
    [InlineData(new[] { "container", "list", "--help" }, "--app <APP>")]
    [InlineData(new[] { "container", "stop", "--help" }, "<container>")]
    [InlineData(new[] { "container", "logs", "--help" }, "--idle <SECONDS>")]
    [InlineData(new[] { "token", "new", "--help" }, "--save-profile")]
    [InlineData(new[] { "token", "list", "--help" }, "--json")]
    [InlineData(new[] { "token", "revoke", "--help" }, "<token-id>")]
    public async Task Help_prints_usage_and_exits_0(string[] arguments, string expected)
    {
        var result = await ModalTool.RunAsync(arguments);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage:", result.Output);
        Assert.Contains(expected, result.Output);
    }

    [Theory]
    [InlineData("server", "--nope")]
    [InlineData("server", "--port", "many")]
    [InlineData("app", "list", "--nope")]
    [InlineData("nosuchcommand")]
    [InlineData("token", "new", "--kind", "root")]
    [InlineData("call", "only-an-app")]
    public async Task A_bad_flag_exits_2_with_one_line(params string[] arguments)
    {
        var result = await ModalTool.RunAsync(arguments);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(string.Empty, result.Output);
        var line = Assert.Single(result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("modal: ", line);
        Assert.Contains("--help", line);
    }

    [Fact]
    public async Task App_list_and_function_list_show_the_deployed_app_as_JSON()
    {
        var apps = await ListAsync("app", "list");
        var app = Assert.Single(apps.EnumerateArray(), item => item.GetProperty("name").GetString() == server.AppName);
        Assert.Equal("deployed", app.GetProperty("kind").GetString());
        Assert.StartsWith("ap-", app.GetProperty("appId").GetString());

        var functions = await ListAsync("function", "list", "--app", server.AppName);
        var names = functions.EnumerateArray().Select(function => function.GetProperty("name").GetString()).ToList();
        Assert.Contains("ShortLived", names);
        Assert.Contains("SlowAdd", names);
        Assert.All(functions.EnumerateArray(), function => Assert.Equal(server.AppName, function.GetProperty("appName").GetString()));
    }

    [Fact]
    public async Task App_list_prints_a_table_without_json()
    {
        var result = await ModalTool.RunAsync("app", "list", "--server", server.Url);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("App id", result.Output);
        Assert.Contains(server.AppName, result.Output);
    }

    [Fact]
    public async Task App_stop_stops_a_deployed_app_by_name_and_an_unknown_app_fails_with_1()
    {
        var name = "cli-stop-" + Guid.NewGuid().ToString("N")[..8];
        var deploy = await ModalTool.RunAsync(
            ModalTool.BuildOutput("tests/Modal.Integration.Functions", "Modal.Integration.Functions.dll"), ["deploy", name],
            new Dictionary<string, string?> { ["MODAL_SERVER_URL"] = server.Url });
        Assert.True(deploy.ExitCode == 0, deploy.Errors);

        var stopped = await ModalTool.RunAsync("app", "stop", name, "--server", server.Url);

        Assert.Equal(0, stopped.ExitCode);
        Assert.Contains($"Stopped app '{name}'", stopped.Output);
        var app = Assert.Single((await ListAsync("app", "list")).EnumerateArray(), item => item.GetProperty("name").GetString() == name);
        Assert.Equal("stopped", app.GetProperty("state").GetString());
        Assert.Empty((await ListAsync("function", "list", "--app", name)).EnumerateArray());

        var unknown = await ModalTool.RunAsync("app", "stop", name, "--server", server.Url);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains($"no running or deployed app has the id or name '{name}'", unknown.Errors);
    }

    [Fact]
    public async Task An_unreachable_control_plane_fails_with_1_and_says_how_to_start_one()
    {
        var result = await ModalTool.RunAsync("app", "list", "--server", "http://127.0.0.1:9");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot be reached", result.Errors);
        Assert.Contains("modal server", result.Errors);
    }

    private async Task<JsonElement> ListAsync(params string[] arguments)
    {
        var result = await ModalTool.RunAsync([.. arguments, "--json", "--server", server.Url]);
        Assert.True(result.ExitCode == 0, $"modal {string.Join(' ', arguments)} failed: {result.Errors}");
        return JsonDocument.Parse(result.Output).RootElement;
    }
}
