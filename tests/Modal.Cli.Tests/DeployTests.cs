using System.Diagnostics;
using System.Text.Json;

namespace Modal.Cli.Tests;

/// <summary>The tool's test classes run one at a time: publishing an app takes the machine's cores, and the others time their workers.</summary>
[CollectionDefinition(Name)]
public sealed class ToolCollection
{
    public const string Name = "modal tool";
}

/// <summary>
/// `modal deploy` of tests/Modal.Versions.App (two builds: -p VersionsBuild=2 answers "build 2") against a `modal server` of
/// its own on a SQLite file, which the test restarts.
/// </summary>
[Collection(ToolCollection.Name)]
public sealed class DeployTests : IAsyncLifetime
{
    private const string App = "versions-" + "test";
    private static readonly TimeSpan s_publishLimit = TimeSpan.FromMinutes(6);
    private readonly string _directory = Directory.CreateTempSubdirectory("modal-deploy-test-").FullName;
    private Process? _server;
    private string _url = string.Empty;

    private static string Project => ModalTool.ProjectDirectory("tests/Modal.Versions.App", "Modal.Versions.App.csproj");

    public async Task InitializeAsync() => (_server, _url) = await ModalTool.StartServerAsync(Path.Combine(_directory, "modal.db"));

    public async Task DisposeAsync()
    {
        await StopServerAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_redeploy_leaves_a_running_call_on_its_version_new_calls_reach_the_new_one_and_both_survive_a_restart()
    {
        // Version 1, with --json.
        var first = await DeployAsync("--json", "-p", "VersionsBuild=1");
        Assert.True(first.ExitCode == 0, first.Output + first.Errors);
        var v1 = JsonDocument.Parse(first.Output).RootElement;
        Assert.Equal((App, 1), (v1.GetProperty("appName").GetString(), v1.GetProperty("version").GetInt32()));
        Assert.Matches("^sha256-[0-9a-f]{64}$", v1.GetProperty("artifactDigest").GetString()!);
        Assert.True(v1.GetProperty("filesUploaded").GetInt32() > 0);

        // A call that is running on version 1 while version 2 is deployed: it waits until version 2 exists, then answers.
        using var running = ModalTool.Start("call", App, "WhichBuild", $"\"{App}\"", "2", "--server", _url);
        var runningOutput = running.StandardOutput.ReadToEndAsync();
        var runningErrors = running.StandardError.ReadToEndAsync();
        string oldContainer = await WaitForRunningInputAsync();

        // Version 2, shown step by step.
        var second = await DeployAsync("-p", "VersionsBuild=2");
        Assert.True(second.ExitCode == 0, second.Output + second.Errors);
        Assert.Contains("Published Modal.Versions.App", second.Output);
        Assert.Contains("Uploaded the build output: artifact ", second.Output);
        Assert.Contains($"Registered version 2 of app '{App}'", second.Output);
        Assert.DoesNotContain(v1.GetProperty("artifactDigest").GetString()!, second.Output); // another build, another artifact

        await running.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(running.ExitCode == 0, await runningErrors);
        Assert.Equal("\"build 1\"", (await runningOutput).Trim());
        // Version 1's container drains: idle and superseded, it stops well before the 60 s scaledown window would stop it.
        await WaitUntilGoneAsync(oldContainer, TimeSpan.FromSeconds(30));
        await AssertVersionsAnswerAsync();

        var unknown = await CallAsync("--version", "9");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains($"App '{App}' has no version 9 of function 'WhichBuild'. Its versions: 1, 2.", unknown.Errors);

        // A restart: the versions, their artifacts and their function rows are in the database.
        await StopServerAsync();
        (_server, _url) = await ModalTool.StartServerAsync(Path.Combine(_directory, "modal.db"));
        await AssertVersionsAnswerAsync();
    }

    [Fact]
    public async Task Deploy_refuses_a_missing_project_and_a_bad_property_with_exit_code_2()
    {
        var missing = await ModalTool.RunAsync("deploy", Path.Combine(_directory, "nope"), "--server", _url);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("does not exist. Give a .csproj file or the folder that holds it.", missing.Errors);

        var property = await ModalTool.RunAsync("deploy", Project, "-p", "VersionsBuild", "--server", _url);
        Assert.Equal(2, property.ExitCode);
        Assert.Contains("--property 'VersionsBuild' is not NAME=VALUE", property.Errors);
    }

    /// <summary>The newest version answers a call by name, a pinned call reaches version 1, and the app lists version 2.</summary>
    private async Task AssertVersionsAnswerAsync()
    {
        var apps = JsonDocument.Parse((await ModalTool.RunAsync("app", "list", "--json", "--server", _url)).Output).RootElement;
        var app = Assert.Single(apps.EnumerateArray(), app => app.GetProperty("name").GetString() == App);
        Assert.Equal(("deployed", 2), (app.GetProperty("state").GetString(), app.GetProperty("version").GetInt32()));

        var newest = await CallAsync();
        Assert.True(newest.ExitCode == 0, newest.Errors);
        Assert.Equal("\"build 2\"", newest.Output.Trim());
        var pinned = await CallAsync("--version", "1");
        Assert.True(pinned.ExitCode == 0, pinned.Errors);
        Assert.Equal("\"build 1\"", pinned.Output.Trim());
    }

    private Task<ModalTool.Result> CallAsync(params string[] options) =>
        ModalTool.RunAsync(["call", App, "WhichBuild", $"\"{App}\"", "0", "--server", _url, .. options]);

    private Task<ModalTool.Result> DeployAsync(params string[] options) =>
        ModalTool.RunAsync(ModalTool.ToolAssembly, ["deploy", Project, "--name", App, "--server", _url, .. options], limit: s_publishLimit);

    /// <summary>Waits until a container of the app runs an input (the call is bound to version 1 and started); returns its id.</summary>
    private async Task<string> WaitForRunningInputAsync()
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var listed = await ModalTool.RunAsync("container", "list", "--app", App, "--json", "--server", _url);
            var busy = listed.ExitCode == 0
                ? JsonDocument.Parse(listed.Output).RootElement.EnumerateArray().FirstOrDefault(c => c.GetProperty("runningInputs").GetInt32() > 0)
                : default;
            if (busy.ValueKind == JsonValueKind.Object)
            {
                return busy.GetProperty("containerId").GetString()!;
            }
            Assert.True(DateTime.UtcNow < deadline, $"No container of {App} ran the call within 2 minutes: {listed.Output}{listed.Errors}");
            await Task.Delay(500);
        }
    }

    private async Task WaitUntilGoneAsync(string containerId, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var listed = await ModalTool.RunAsync("container", "list", "--app", App, "--json", "--server", _url);
            Assert.True(listed.ExitCode == 0, listed.Errors);
            if (!JsonDocument.Parse(listed.Output).RootElement.EnumerateArray().Any(c => c.GetProperty("containerId").GetString() == containerId))
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"Container {containerId} of the superseded version is still listed after {limit.TotalSeconds} s: {listed.Output}");
            await Task.Delay(500);
        }
    }

    private async Task StopServerAsync()
    {
        if (_server is not null)
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
            _server.Dispose();
            _server = null;
        }
    }
}
