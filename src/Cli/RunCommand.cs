using System.CommandLine;
using System.Diagnostics;

namespace Modal.Cli;

/// <summary>
/// <c>modal run &lt;project&gt;</c>: builds a project (<c>dotnet build</c>) and runs it (<c>dotnet run --no-build</c>) with
/// <c>MODAL_SERVER_URL</c>, <c>MODAL_TOKEN_ID</c> and <c>MODAL_TOKEN_SECRET</c> set to the control plane and token the tool
/// itself would use (flag, variables, profile file), so that its <c>ModalApp.RunAsync</c> or <c>DeployAsync</c> reaches them.
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
        var command = new Command("run", "Build a project and run it against the control plane (MODAL_SERVER_URL and the token set for it).")
        {
            project, appArguments, configuration, noBuild, Connection.ServerOption,
        };
        command.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (_, connection) =>
        {
            string projectFile = FindProject(parseResult.GetValue(project)!);
            string config = parseResult.GetValue(configuration)!;
            if (!parseResult.GetValue(noBuild))
            {
                int built = await DotnetAsync(["build", projectFile, "-c", config, "-nologo", "-v:q"], connection, cancellationToken);
                if (built != 0)
                {
                    throw new FailedException($"'dotnet build {projectFile}' failed (exit code {built}); its errors are above.");
                }
            }
            int exitCode = await DotnetAsync(
                ["run", "--project", projectFile, "--no-build", "-c", config, "--", .. parseResult.GetValue(appArguments) ?? []], connection, cancellationToken);
            return exitCode == 0 ? 0 : throw new FailedException($"the app {Path.GetFileNameWithoutExtension(projectFile)} exited with code {exitCode}.");
        }));
        return command;
    }

    /// <summary>The project file: the path itself, or the one .csproj in that folder.</summary>
    private static string FindProject(string path)
    {
        if (File.Exists(path) && path.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase))
        {
            return Path.GetFullPath(path);
        }
        if (!Directory.Exists(path))
        {
            throw new UsageException($"the project '{path}' does not exist. Give a .csproj file or the folder that holds it.");
        }
        var projects = Directory.GetFiles(path, "*.csproj");
        return projects.Length == 1
            ? Path.GetFullPath(projects[0])
            : throw new UsageException(projects.Length == 0
                ? $"the folder '{path}' holds no .csproj file. Give the app's project folder or its .csproj file."
                : $"the folder '{path}' holds {projects.Length} projects ({string.Join(", ", projects.Select(Path.GetFileName))}); name one of them.");
    }

    /// <summary>Runs <c>dotnet</c> with the connection in its environment, its output going to this console; returns its exit code.</summary>
    private static async Task<int> DotnetAsync(string[] arguments, Connection connection, CancellationToken cancellationToken)
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
        using var process = Process.Start(start) ?? throw new FailedException("'dotnet' could not be started.");
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // Ctrl+C: the app goes with the tool
            throw;
        }
        return process.ExitCode;
    }
}
