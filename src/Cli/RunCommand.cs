using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Modal.Hosting;

namespace Modal.Cli;

/// <summary>
/// <c>modal run &lt;project&gt;</c>: builds a project (<c>dotnet build</c>) and runs it (<c>dotnet run --no-build</c>) with
/// <c>MODAL_SERVER_URL</c>, <c>MODAL_TOKEN_ID</c> and <c>MODAL_TOKEN_SECRET</c> set to the control plane and token the tool
/// itself would use (flag, variables, profile file), so that its <c>ModalApp.RunAsync</c> or <c>DeployAsync</c> reaches them.
/// While it runs, the tool follows the apps it registers (named in the file <c>MODAL_RUN_REPORT</c> points at, see
/// <see cref="RunReport"/>) and shows their maps' progress and containers (<see cref="ProgressView"/>); the project's output
/// is relayed line by line around that display. <c>--no-progress</c> leaves the project the console to itself.
/// </summary>
internal static class RunCommand
{
    public static Command Run()
    {
        var project = new Argument<string>("project") { Description = "The app's project: a .csproj file, or a folder with one." };
        var appArguments = new Argument<string[]>("app-args")
        {
            Description = "Arguments for the app, after '--'.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var configuration = new Option<string>("--configuration", "-c")
        {
            Description = "The build configuration.", HelpName = "NAME", DefaultValueFactory = _ => "Debug",
        };
        var noBuild = new Option<bool>("--no-build") { Description = "Run the project's existing build output without building it first." };
        var noProgress = new Option<bool>("--no-progress")
        {
            Description = "Do not follow the app: the project writes to the console directly (for an interactive project).",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Write JSON lines to stdout: progress events and the project's output lines (see the README).",
        };
        var interval = new Option<double?>("--progress-interval")
        {
            Description = "Seconds between two looks at the app's progress. Default: 0.5 on a terminal, else 1.", HelpName = "SECONDS",
        };
        var command = new Command("run",
            "Build a project and run it against the control plane (MODAL_SERVER_URL and the token set for it), showing its maps' progress " +
            "and its containers while it runs.")
        {
            project, appArguments, configuration, noBuild, noProgress, json, interval, Connection.ServerOption,
        };
        command.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (_, connection) =>
        {
            string projectFile = Dotnet.FindProject(parseResult.GetValue(project)!);
            string config = parseResult.GetValue(configuration)!;
            bool asJson = parseResult.GetValue(json);
            bool follow = !parseResult.GetValue(noProgress);
            if (asJson && !follow)
            {
                throw new UsageException("--json and --no-progress do not go together: --json writes the progress events. Drop one of them.");
            }
            var every = parseResult.GetValue(interval) is { } seconds ? Interval(seconds) : (TimeSpan?)null;
            if (!parseResult.GetValue(noBuild))
            {
                // With --json, stdout carries JSON lines only: the build's own output goes to stderr.
                int built = await DotnetAsync(["build", projectFile, "-c", config, "-nologo", "-v:q"], connection, null, buildToStderr: asJson, cancellationToken);
                if (built != 0)
                {
                    throw new FailedException($"'dotnet build {projectFile}' failed (exit code {built}); its errors are above.");
                }
            }
            string[] run = ["run", "--project", projectFile, "--no-build", "-c", config, "--", .. parseResult.GetValue(appArguments) ?? []];
            int exitCode = follow
                ? await RunFollowingAsync(run, connection, ProgressView.Create(asJson), every, cancellationToken)
                : await DotnetAsync(run, connection, null, buildToStderr: false, cancellationToken);
            return exitCode == 0 ? 0 : throw new FailedException($"the app {Path.GetFileNameWithoutExtension(projectFile)} exited with code {exitCode}.");
        }));
        return command;
    }

    private static TimeSpan Interval(double seconds) =>
        double.IsFinite(seconds) && seconds >= 0.05 && seconds <= 3600
            ? TimeSpan.FromSeconds(seconds)
            : throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--progress-interval is {seconds}; give a number of seconds from 0.05 to 3600, for example --progress-interval 1."));

    /// <summary>Runs the project with a run report file, polling its apps' progress until it exits, and once more after.</summary>
    private static async Task<int> RunFollowingAsync(string[] arguments, Connection connection, ProgressView view, TimeSpan? interval,
        CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("modal-run-"); // private to this user: the project writes its app ids here
        string reportPath = Path.Combine(folder.FullName, "apps.jsonl");
        try
        {
            using var progress = new RunProgress(reportPath, connection, view);
            var every = interval ?? view.DefaultInterval;
            int exitCode = await view.RunAsync(async () =>
            {
                var project = DotnetAsync(arguments, connection, reportPath, buildToStderr: false, cancellationToken, view);
                try
                {
                    while (!project.IsCompleted)
                    {
                        await progress.PollAsync(afterExit: false, cancellationToken);
                        await Task.WhenAny(project, Task.Delay(every, cancellationToken));
                    }
                }
                catch (OperationCanceledException)
                {
                    await Task.WhenAny(project); // Ctrl+C: the project is killed before the tool goes
                    throw;
                }
                int code = await project;
                await progress.PollAsync(afterExit: true, cancellationToken); // the calls that finished since the last look, and the app stopped
                return code;
            });
            view.Exited(exitCode);
            return exitCode;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Runs <c>dotnet</c> with the connection (and the run report file, if any) in its environment and returns its exit code. Its
    /// output goes to this console, or line by line to <paramref name="view"/>, or (<paramref name="buildToStderr"/>) all to stderr.
    /// </summary>
    private static async Task<int> DotnetAsync(string[] arguments, Connection connection, string? reportPath, bool buildToStderr,
        CancellationToken cancellationToken, ProgressView? view = null)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["MODAL_SERVER_URL"] = connection.ServerUrls;
        if (connection.TokenId is { } tokenId && connection.TokenSecret is { } tokenSecret)
        {
            start.Environment["MODAL_TOKEN_ID"] = tokenId;
            start.Environment["MODAL_TOKEN_SECRET"] = tokenSecret;
        }
        if (reportPath is not null)
        {
            start.Environment[RunReport.Variable] = reportPath;
        }
        bool relay = view is not null || buildToStderr;
        start.RedirectStandardOutput = relay;
        start.RedirectStandardError = relay;
        using var process = Process.Start(start) ?? throw new FailedException("'dotnet' could not be started.");
        var relays = relay
            ? new[]
            {
                RelayAsync(process.StandardOutput, line => Write(view, buildToStderr, stderr: false, line)),
                RelayAsync(process.StandardError, line => Write(view, buildToStderr, stderr: true, line)),
            }
            : [];
        try
        {
            await process.WaitForExitAsync(cancellationToken);
            await Task.WhenAll(relays);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // Ctrl+C: the app goes with the tool
            throw;
        }
        return process.ExitCode;
    }

    private static void Write(ProgressView? view, bool toStderr, bool stderr, string line)
    {
        if (view is not null)
        {
            view.Output(stderr, line);
        }
        else if (toStderr)
        {
            Console.Error.WriteLine(line);
        }
    }

    private static async Task RelayAsync(StreamReader reader, Action<string> write)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            write(line);
        }
    }
}
