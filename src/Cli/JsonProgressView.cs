using System.Text.Json.Nodes;
using Modal.Hosting;

namespace Modal.Cli;

/// <summary>
/// <c>modal run --json</c>: standard output is one JSON object per line, each with an <c>event</c>: <c>app</c> (an app the
/// project registered), <c>call</c> (a map's inputs done of total, on each change), <c>calls</c> (a function's single-input
/// calls running and done), <c>containers</c> (a function's containers running and starting), <c>output</c> (a line the
/// project wrote, with its <c>stream</c>), <c>warning</c> and <c>exit</c> (the project's exit code, last).
/// </summary>
internal sealed class JsonProgressView : ProgressView
{
    private readonly Lock _lock = new();

    public override void AppFound(RunReport.Entry app) => Write(new JsonObject
    {
        ["event"] = "app", ["appId"] = app.AppId, ["appName"] = app.AppName, ["kind"] = app.Kind, ["serverUrl"] = app.ServerUrl,
    });

    public override void Update(IReadOnlyList<AppProgressState> apps)
    {
        foreach (var app in apps)
        {
            foreach (var map in app.Maps)
            {
                if (Changed("map " + map.CallId, $"{map.Done} {map.Total} {map.InputsComplete} {map.Finished}"))
                {
                    Write(new JsonObject
                    {
                        ["event"] = "call", ["appId"] = app.App.AppId, ["functionCallId"] = map.CallId, ["function"] = map.Function,
                        ["done"] = map.Done, ["total"] = map.Total, ["inputsComplete"] = map.InputsComplete, ["finished"] = map.Finished,
                        ["perSecond"] = map.PerSecond is { } rate ? Math.Round(rate, 2) : null, ["seconds"] = Math.Round(map.Seconds, 3),
                    });
                }
            }
            foreach (var calls in app.SingleCalls)
            {
                if (Changed($"calls {app.App.AppId} {calls.Function}", $"{calls.Running} {calls.Done}"))
                {
                    Write(new JsonObject
                    {
                        ["event"] = "calls", ["appId"] = app.App.AppId, ["function"] = calls.Function, ["running"] = calls.Running, ["done"] = calls.Done,
                    });
                }
            }
            foreach (var containers in app.Containers)
            {
                if (Changed($"containers {app.App.AppId} {containers.Function}", $"{containers.Running} {containers.Starting}", unseen: "0 0"))
                {
                    Write(new JsonObject
                    {
                        ["event"] = "containers", ["appId"] = app.App.AppId, ["function"] = containers.Function, ["running"] = containers.Running,
                        ["starting"] = containers.Starting, ["runningInputs"] = containers.RunningInputs, ["backlog"] = containers.Backlog,
                    });
                }
            }
        }
    }

    public override void Output(bool stderr, string line) =>
        Write(new JsonObject { ["event"] = "output", ["stream"] = stderr ? "stderr" : "stdout", ["text"] = line });

    public override void Warning(string message) => Write(new JsonObject { ["event"] = "warning", ["message"] = message });

    public override void Exited(int exitCode) => Write(new JsonObject { ["event"] = "exit", ["exitCode"] = exitCode });

    private void Write(JsonObject node)
    {
        string line = node.ToJsonString();
        lock (_lock)
        {
            Console.Out.WriteLine(line);
        }
    }
}
