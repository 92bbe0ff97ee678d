using Modal.Hosting;

namespace Modal.Cli;

/// <summary>
/// Progress as plain lines on standard error (<c>modal: …</c>), each printed when what it says changed, for pipes, files and
/// tests; the project's stdout and stderr lines go to the tool's own, unchanged.
/// </summary>
internal sealed class PlainProgressView : ProgressView
{
    private readonly Lock _lock = new();

    public override void AppFound(RunReport.Entry app) => Error($"modal: following the {Describe(app)}.");

    public override void Update(IReadOnlyList<AppProgressState> apps)
    {
        foreach (var app in apps)
        {
            foreach (var map in app.Maps)
            {
                if (Changed("map " + map.CallId, $"{map.Done} {map.Total} {map.InputsComplete} {map.Finished}"))
                {
                    Error($"modal: {map.Function} {map.CallId}: {Describe(map)}");
                }
            }
            foreach (var calls in app.SingleCalls)
            {
                if (Changed($"calls {app.App.AppId} {calls.Function}", $"{calls.Running} {calls.Done}"))
                {
                    Error($"modal: {calls.Function}: {Describe(calls)}");
                }
            }
            foreach (var containers in app.Containers)
            {
                // A function that never had a container is not mentioned; one whose containers all went is.
                if (Changed($"containers {app.App.AppId} {containers.Function}", $"{containers.Running} {containers.Starting}", unseen: "0 0"))
                {
                    Error($"modal: {containers.Function} containers: {Describe(containers)}");
                }
            }
        }
    }

    public override void Output(bool stderr, string line)
    {
        lock (_lock)
        {
            (stderr ? Console.Error : Console.Out).WriteLine(line);
        }
    }

    public override void Warning(string message) => Error($"modal: warning: {message}");

    private void Error(string line)
    {
        lock (_lock)
        {
            Console.Error.WriteLine(line);
        }
    }
}
