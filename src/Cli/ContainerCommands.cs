using System.CommandLine;
using System.Text.Json.Nodes;
using Grpc.Core;
using Modal.Api;

namespace Modal.Cli;

/// <summary><c>modal container list|stop|logs</c>: the live containers of the apps the token reaches.</summary>
internal static class ContainerCommands
{
    public static Command Container()
    {
        var app = new Option<string?>("--app") { Description = "Only this app's containers (its id or name).", HelpName = "APP" };
        var list = new Command("list", "List the live containers (launching, running or stopping): id, app, function, state, inputs running.")
        {
            app, Output.JsonOption,
        };
        list.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, _) =>
        {
            var request = new ContainerListRequest();
            if (parseResult.GetValue(app) is { } wanted)
            {
                request.AppId = (await AdminCommands.FindAppAsync(client, wanted, cancellationToken)).AppId;
            }
            var containers = (await client.ContainerListAsync(request, cancellationToken: cancellationToken)).Containers;
            return Output.Write(parseResult, containers,
                container => new JsonObject
                {
                    ["containerId"] = container.ContainerId, ["appId"] = container.AppId, ["appName"] = container.AppName,
                    ["functionId"] = container.FunctionId, ["functionName"] = container.FunctionName, ["state"] = container.State,
                    ["runningInputs"] = container.RunningInputs, ["launchedUnixMs"] = container.LaunchedUnixMs,
                },
                ["Container id", "App", "Function", "State", "Inputs", "Launched (UTC)"],
                container => [container.ContainerId, container.AppName, container.FunctionName, container.State,
                    Output.Number(container.RunningInputs), Output.Time(container.LaunchedUnixMs)]);
        }));

        var containerArgument = new Argument<string>("container") { Description = "The container's id, as 'modal container list' shows it." };
        var stop = new Command("stop", "Stop a container as a scale-down does: it takes no new inputs, finishes those it runs and exits.")
        {
            containerArgument,
        };
        stop.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, _) =>
        {
            string containerId = parseResult.GetValue(containerArgument)!;
            try
            {
                await client.ContainerStopAsync(new ContainerStopRequest { ContainerId = containerId }, cancellationToken: cancellationToken);
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.NotFound)
            {
                throw new FailedException($"{exception.Status.Detail} 'modal container list' shows the live containers.");
            }
            Console.WriteLine($"Asked container {containerId} to stop.");
            return 0;
        }));

        var logs = new Command("logs", "Print the lines one container writes to stdout and stderr, from now on (the control plane keeps no history).")
        {
            containerArgument, LogStream.FollowOption, LogStream.IdleOption, LogStream.JsonOption,
        };
        logs.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, _) =>
        {
            string containerId = parseResult.GetValue(containerArgument)!;
            var container = (await client.ContainerListAsync(new ContainerListRequest(), cancellationToken: cancellationToken)).Containers
                .FirstOrDefault(container => container.ContainerId == containerId)
                ?? throw new FailedException($"no live container has the id '{containerId}'. 'modal container list' shows them.");
            var owner = new AppInfo { AppId = container.AppId, Name = container.AppName };
            return await LogStream.RunAsync(parseResult, client, owner, containerId, cancellationToken);
        }));

        return new Command("container", "List and stop containers, and follow their logs.") { list, stop, logs, Connection.ServerOption };
    }
}
