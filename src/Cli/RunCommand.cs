using System.CommandLine;

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
            string projectFile = Dotnet.FindProject(parseResult.GetValue(project)!);
            string config = parseResult.GetValue(configuration)!;
            if (!parseResult.GetValue(noBuild))
            {
                var built = await Dotnet.RunAsync(["build", projectFile, "-c", config, "-nologo", "-v:q"], connection, capture: false, cancellationToken);
                if (built.ExitCode != 0)
                {
                    throw new FailedException($"'dotnet build {projectFile}' failed (exit code {built.ExitCode}); its errors are above.");
                }
            }
            var ran = await Dotnet.RunAsync(
                ["run", "--project", projectFile, "--no-build", "-c", config, "--", .. parseResult.GetValue(appArguments) ?? []], connection, capture: false,
                cancellationToken);
            return ran.ExitCode == 0
                ? 0
                : throw new FailedException($"the app {Path.GetFileNameWithoutExtension(projectFile)} exited with code {ran.ExitCode}.");
        }));
        return command;
    }
}
