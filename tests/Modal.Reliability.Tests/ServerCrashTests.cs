using System.Diagnostics;
using Grpc.Net.Client;
using Modal.Api;
using Modal.Integration.Tests;
using Api = Modal.Api;
using Modal.Reliability;

namespace Modal.Reliability.Tests;

/// <summary>
/// A standalone control plane on a SQLite file, SIGKILLed in the middle of a map and started again on the same port and
/// file: callers ride through it without retrying in their own code.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class ServerCrashTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_map_a_spawned_call_and_a_deployed_app_survive_a_server_SIGKILL_and_restart_on_the_same_port()
    {
        const int Inputs = 5_000;
        const int CrashAfter = 1_000;
        await using var server = await ControlPlaneProcess.StartAsync(useDatabaseFile: true);
        var deployedName = "deployed-" + Guid.NewGuid().ToString("N")[..8];
        await DeployFromSecondProcessAsync(server.Url, deployedName);
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = server.Url });
        var spawned = await ReliabilityFunctions.Functions.Square.SpawnAsync(12);
        Assert.Equal(144, await spawned.GetAsync(s_patience));

        var run = await MapRun.CollectAsync(
            token => ReliabilityFunctions.Functions.Square.Map(Enumerable.Range(0, Inputs), cancellationToken: token),
            TimeSpan.FromMinutes(3),
            async received =>
            {
                if (received == CrashAfter)
                {
                    await server.KillAsync();
                    await server.RestartAsync();
                }
            });

        // Everything is checked before anything is asserted, so that one failure does not hide the others.
        var problems = new List<string>();
        if (run.Failure is not null || run.Outputs.Count != Inputs)
        {
            problems.Add($"The map {run.Describe(Inputs)}");
        }
        else if (Enumerable.Range(0, Inputs).FirstOrDefault(i => run.Outputs[i] != (long)i * i, -1) is var wrong and >= 0)
        {
            problems.Add($"Output {wrong} of the map is {run.Outputs[wrong]}, not {(long)wrong * wrong}.");
        }
        // What the restarted server holds, through a new connection...
        using (var channel = GrpcChannel.ForAddress(server.Url))
        {
            var client = new ModalClient.ModalClientClient(channel);
            await CheckAsync(problems, "The spawned call's output, read on a new connection after the restart", async () =>
            {
                var outputs = await client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest { FunctionCallId = spawned.ObjectId, TimeoutSeconds = 10 },
                    TestToken.Headers());
                Assert.Equal(Api.InputStatus.Success, Assert.Single(outputs.Outputs).Result.Status);
            });
            await CheckAsync(problems, "The deployed app's function, looked up on a new connection after the restart", async () =>
                Assert.NotEmpty((await client.FunctionGetAsync(new FunctionGetRequest { AppName = deployedName, FunctionName = "Square" }, TestToken.Headers()))
                    .FunctionId));
        }
        // ...and through the app's own client, which must ride through the restart too.
        await CheckAsync(problems, "The spawned call, fetched by the app after the restart",
            async () => Assert.Equal(144, await FunctionCall.FromId<long>(spawned.ObjectId).GetAsync(s_patience)));
        await CheckAsync(problems, "The deployed app, called by the app after the restart",
            async () => Assert.Equal(49, await Function.FromName(deployedName, nameof(ReliabilityFunctions.Square)).RemoteAsync<long>(7)));

        Assert.True(problems.Count == 0, string.Join("\n", problems) + $"\nServer output:\n{server.Output}");
    }

    private static async Task CheckAsync(List<string> problems, string what, Func<Task> check)
    {
        try
        {
            await check().WaitAsync(s_patience);
        }
        catch (Exception exception)
        {
            problems.Add($"{what} failed: {exception}");
        }
    }

    /// <summary>Deploys the reliability functions under a name from a second process, which then exits.</summary>
    private static async Task DeployFromSecondProcessAsync(string serverUrl, string name)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(ReliabilityFunctions).Assembly.Location);
        start.ArgumentList.Add("deploy");
        start.ArgumentList.Add(name);
        start.Environment["MODAL_SERVER_URL"] = serverUrl;
        start.Environment.Remove("MODAL_WORKER");
        using var deployer = Process.Start(start)!;
        var output = deployer.StandardOutput.ReadToEndAsync();
        var errors = deployer.StandardError.ReadToEndAsync();
        try
        {
            await deployer.WaitForExitAsync().WaitAsync(s_patience);
        }
        finally
        {
            if (!deployer.HasExited)
            {
                deployer.Kill(entireProcessTree: true);
            }
        }
        Assert.True(deployer.ExitCode == 0 && (await output).Contains($"deployed={name}", StringComparison.Ordinal),
            $"Deploying '{name}' failed: {await output}{await errors}");
    }
}
