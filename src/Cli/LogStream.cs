using System.CommandLine;
using System.Text.Json.Nodes;
using Grpc.Core;
using Modal.Api;

namespace Modal.Cli;

/// <summary>
/// <c>modal app logs</c> and <c>modal container logs</c>: the lines an app's containers write, as AppGetLogs streams them
/// from the moment the command connects (the control plane keeps no log history).
/// </summary>
internal static class LogStream
{
    public static readonly Option<bool> FollowOption = new("--follow", "-f")
    {
        Description = "Keep following until Ctrl+C (or until the app stops).",
    };

    public static readonly Option<double> IdleOption = new("--idle")
    {
        Description = "Without -f: stop after this many seconds without a new line.",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => 5,
    };

    public static readonly Option<bool> JsonOption = new("--json") { Description = "Print one JSON object per line." };

    public static async Task<int> RunAsync(
        ParseResult parseResult, ModalClient.ModalClientClient client, AppInfo app, string? containerId, CancellationToken cancellationToken)
    {
        bool follow = parseResult.GetValue(FollowOption);
        double idleSeconds = parseResult.GetValue(IdleOption);
        if (!double.IsFinite(idleSeconds) || idleSeconds <= 0 || idleSeconds > 86_400)
        {
            throw new UsageException($"--idle is {idleSeconds}; give a number of seconds above 0 (at most 86400), for example --idle 5.");
        }
        var idle = TimeSpan.FromSeconds(idleSeconds);
        bool json = parseResult.GetValue(JsonOption);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var call = client.AppGetLogs(new AppGetLogsRequest { AppId = app.AppId }, cancellationToken: stop.Token);
        try
        {
            // The control plane answers with headers once it has subscribed: every line written from here on comes through.
            await call.ResponseHeadersAsync;
            string what = containerId is null ? $"app '{app.Name}' ({app.AppId})" : $"container {containerId} of app '{app.Name}'";
            await Console.Error.WriteLineAsync(follow
                ? $"modal: following the logs of {what}; Ctrl+C stops."
                : $"modal: printing the logs of {what} until {idleSeconds:0.###} s pass without a line (-f follows).");
            if (!follow)
            {
                stop.CancelAfter(idle);
            }
            await foreach (var line in call.ResponseStream.ReadAllAsync(stop.Token))
            {
                if (containerId is not null && line.ContainerId != containerId)
                {
                    continue;
                }
                if (!follow)
                {
                    stop.CancelAfter(idle);
                }
                Write(line, json);
            }
            await Console.Error.WriteLineAsync($"modal: app '{app.Name}' stopped; no more lines will come.");
        }
        catch (RpcException exception) when (exception.StatusCode == StatusCode.Cancelled && stop.IsCancellationRequested)
        {
            // Ctrl+C, or the idle time passed.
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        return 0;
    }

    private static void Write(LogLine line, bool json)
    {
        if (json)
        {
            Console.WriteLine(new JsonObject
            {
                ["functionName"] = line.FunctionName, ["containerId"] = line.ContainerId, ["inputId"] = line.InputId,
                ["stream"] = line.Stderr ? "stderr" : "stdout", ["text"] = line.Text,
            }.ToJsonString());
            return;
        }
        (line.Stderr ? Console.Error : Console.Out).WriteLine($"{line.FunctionName} {line.ContainerId} | {line.Text}");
    }
}
