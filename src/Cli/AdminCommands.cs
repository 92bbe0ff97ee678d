using System.CommandLine;
using System.Text.Json.Nodes;
using Grpc.Core;
using Modal.Api;

namespace Modal.Cli;

/// <summary>
/// <c>modal app list|stop|logs</c> and <c>modal function list|stats</c>: calls to the control plane that
/// <see cref="Connection"/> names. Listings print a table, or JSON with <c>--json</c>.
/// </summary>
internal static class AdminCommands
{
    public static Command App()
    {
        var list = new Command("list", "List the apps: id, name, kind, state, newest version, running containers.") { Output.JsonOption };
        list.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, _) =>
        {
            var apps = (await client.AppListAsync(new AppListRequest(), cancellationToken: cancellationToken)).Apps;
            return Output.Write(parseResult, apps,
                app => new JsonObject
                {
                    ["appId"] = app.AppId, ["name"] = app.Name, ["kind"] = Output.KindName(app.Kind), ["state"] = app.State,
                    ["version"] = app.Version, ["artifactDigest"] = app.ArtifactDigest,
                    ["runningContainers"] = app.RunningContainers, ["createdUnixMs"] = app.CreatedUnixMs,
                },
                ["App id", "Name", "Kind", "State", "Version", "Containers", "Created (UTC)"],
                app => [app.AppId, app.Name, Output.KindName(app.Kind), app.State, app.Version > 0 ? Output.Number(app.Version) : "-",
                    Output.Number(app.RunningContainers), Output.Time(app.CreatedUnixMs)]);
        }));

        var appArgument = new Argument<string>("app") { Description = "The app's id (ap-...) or name." };
        var stop = new Command("stop", "Stop an app: its containers stop and its unfinished inputs are cancelled.") { appArgument };
        stop.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, _) =>
        {
            var app = await FindAppAsync(client, parseResult.GetValue(appArgument)!, cancellationToken);
            await client.AppStopAsync(new AppStopRequest { AppId = app.AppId }, cancellationToken: cancellationToken);
            Console.WriteLine($"Stopped app '{app.Name}' ({app.AppId}).");
            return 0;
        }));

        var logs = new Command("logs",
            "Print the lines the app's containers write to stdout and stderr, from now on (the control plane keeps no history).")
        {
            appArgument, LogStream.FollowOption, LogStream.IdleOption, LogStream.JsonOption,
        };
        logs.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, _) =>
        {
            var app = await FindAppAsync(client, parseResult.GetValue(appArgument)!, cancellationToken);
            return await LogStream.RunAsync(parseResult, client, app, containerId: null, cancellationToken);
        }));

        return new Command("app", "List and stop apps, and follow their logs.") { list, stop, logs, Connection.ServerOption };
    }

    public static Command Function()
    {
        var app = new Option<string?>("--app") { Description = "Only this app's functions.", HelpName = "NAME" };
        var list = new Command("list", "List the functions of the apps that are not stopped.") { app, Output.JsonOption };
        list.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, _) =>
        {
            var request = new FunctionListRequest { AppName = parseResult.GetValue(app) ?? string.Empty };
            var functions = (await client.FunctionListAsync(request, cancellationToken: cancellationToken)).Functions;
            return Output.Write(parseResult, functions,
                function => new JsonObject
                {
                    ["functionId"] = function.FunctionId, ["appId"] = function.AppId, ["appName"] = function.AppName,
                    ["name"] = function.Name, ["kind"] = Output.KindName(function.Kind),
                },
                ["Function id", "App", "Name", "Kind"],
                function => [function.FunctionId, function.AppName, function.Name, Output.KindName(function.Kind)]);
        }));

        var appArgument = new Argument<string>("app") { Description = "The app's name." };
        var functionArgument = new Argument<string>("function") { Description = "The function's name." };
        var stats = new Command("stats", "Show a function's backlog (inputs waiting) and runners (live containers).")
        {
            appArgument, functionArgument, Output.JsonOption,
        };
        stats.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, _) =>
        {
            string appName = parseResult.GetValue(appArgument)!;
            var function = await GetFunctionAsync(client, appName, parseResult.GetValue(functionArgument)!, unknownIsUsage: false, cancellationToken);
            var current = await client.FunctionGetCurrentStatsAsync(
                new FunctionGetCurrentStatsRequest { FunctionId = function.FunctionId }, cancellationToken: cancellationToken);
            if (parseResult.GetValue(Output.JsonOption))
            {
                Output.WriteJson(new JsonObject
                {
                    ["appName"] = appName, ["function"] = function.Spec.Name, ["functionId"] = function.FunctionId,
                    ["backlog"] = current.Backlog, ["runners"] = current.NumTotalRunners,
                });
                return 0;
            }
            return Output.Table(["App", "Function", "Backlog", "Runners"],
                [[appName, function.Spec.Name, Output.Number(current.Backlog), Output.Number(current.NumTotalRunners)]]);
        }));
        return new Command("function", "List functions and show their load.") { list, stats, Connection.ServerOption };
    }

    /// <summary>The app that is not stopped with this id or name; none, or several of that name, fails with exit code 1.</summary>
    public static async Task<AppInfo> FindAppAsync(ModalClient.ModalClientClient client, string wanted, CancellationToken cancellationToken)
    {
        var apps = (await client.AppListAsync(new AppListRequest(), cancellationToken: cancellationToken)).Apps
            .Where(app => app.State != "stopped" && (app.AppId == wanted || app.Name == wanted))
            .ToList();
        return apps.Count switch
        {
            1 => apps[0],
            0 => throw new FailedException($"no running or deployed app has the id or name '{wanted}'. 'modal app list' shows them."),
            _ => throw new FailedException($"{apps.Count} apps are named '{wanted}' ({string.Join(", ", apps.Select(app => app.AppId))}); name one by its id."),
        };
    }

    /// <summary>
    /// A function by app and name (in the app's newest version, or in <paramref name="version"/>); an unknown one fails with
    /// exit code 2 (<paramref name="unknownIsUsage"/>) or 1.
    /// </summary>
    public static async Task<FunctionGetResponse> GetFunctionAsync(
        ModalClient.ModalClientClient client, string appName, string functionName, bool unknownIsUsage, CancellationToken cancellationToken,
        int? version = null)
    {
        try
        {
            return await client.FunctionGetAsync(
                new FunctionGetRequest { AppName = appName, FunctionName = functionName, Version = version ?? 0 }, cancellationToken: cancellationToken);
        }
        catch (RpcException exception) when (exception.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument)
        {
            string message = $"{exception.Status.Detail} 'modal function list --app {appName}' shows the app's functions.";
            throw unknownIsUsage ? new UsageException(message) : new FailedException(message);
        }
    }
}
