using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Modal.Api;
using Spectre.Console;

namespace Modal.Cli;

/// <summary>
/// <c>modal deploy &lt;project&gt;</c>: publishes the project (<c>dotnet publish -c Release</c> to a temporary folder) and
/// starts the published app with <c>MODAL_DEPLOY</c> set, so that its <c>ModalApp.RunAsync</c> uploads that folder as a
/// content-addressed artifact, registers it as the app's next version and exits. The published app is the same
/// executable that serves as the version's worker, so what is deployed is exactly what was published. When the control
/// plane names a registry (<c>--registry</c>), the project is also published as a worker image (<see cref="ContainerPublish"/>)
/// and the version records it by digest.
/// </summary>
internal static class DeployCommand
{
    /// <summary>The file the deploying app writes its result to, as JSON (read by the runtime's own deploy switch).</summary>
    private const string ResultVariable = "MODAL_DEPLOY_RESULT";

    /// <summary>The image this deploy built, which the deploying app records with its version.</summary>
    private const string DeployImageVariable = "MODAL_DEPLOY_IMAGE";

    /// <summary>Makes the published app describe itself instead of deploying.</summary>
    private const string DescribeVariable = "MODAL_DEPLOY_DESCRIBE";

    public static Command Deploy()
    {
        var project = new Argument<string>("project") { Description = "The app's project: a .csproj file, or a folder with one." };
        var name = new Option<string?>("--name")
        {
            Description = "The deployed app's name. Default: the app's own ([assembly: ModalApp(\"...\")] or its assembly name).", HelpName = "NAME",
        };
        var configuration = new Option<string>("--configuration", "-c")
        {
            Description = "The build configuration to publish.", HelpName = "NAME", DefaultValueFactory = _ => "Release",
        };
        var properties = new Option<string[]>("--property", "-p")
        {
            Description = "An MSBuild property for the publish, as NAME=VALUE (repeatable).", HelpName = "NAME=VALUE",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("deploy",
            "Publish a project and deploy it as the next version of its app: calls made from then on run the new version, calls already made finish on theirs.")
        {
            project, name, configuration, properties, Output.JsonOption, Connection.ServerOption,
        };
        command.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, connection) =>
        {
            string projectFile = Dotnet.FindProject(parseResult.GetValue(project)!);
            string? appName = parseResult.GetValue(name);
            if (appName is not null && string.IsNullOrWhiteSpace(appName))
            {
                throw new UsageException("--name is empty. Give the app's name, or leave --name out to use the app's own.");
            }
            var publishArguments = new List<string> { "publish", projectFile, "-c", parseResult.GetValue(configuration)!, "-nologo", "-v:q" };
            var userProperties = parseResult.GetValue(properties) ?? [];
            foreach (string property in userProperties)
            {
                if (property.IndexOf('=', StringComparison.Ordinal) <= 0)
                {
                    throw new UsageException($"--property '{property}' is not NAME=VALUE, for example --property Version=2.0.0.");
                }
                publishArguments.Add("-p:" + property);
            }
            bool json = parseResult.GetValue(Output.JsonOption);
            Output.KeepLinesWhole();
            // A control plane with a registry keeps a worker image per version: this deploy builds it.
            var images = await client.ImageConfigGetAsync(new ImageConfigGetRequest(), cancellationToken: cancellationToken);
            string folder = Directory.CreateTempSubdirectory("modal-deploy-").FullName;
            try
            {
                string publishFolder = Path.Combine(folder, "publish");
                publishArguments.AddRange(["-o", publishFolder]);
                string projectName = Path.GetFileNameWithoutExtension(projectFile);
                var timer = Stopwatch.StartNew();
                var published = await StepAsync(json, $"Publishing {projectName} ({parseResult.GetValue(configuration)})",
                    () => Dotnet.RunAsync(publishArguments, connection, capture: true, cancellationToken));
                if (published.ExitCode != 0)
                {
                    await Console.Error.WriteAsync(published.Output);
                    throw new FailedException($"'dotnet publish {projectFile}' failed (exit code {published.ExitCode}); its output is above.");
                }
                string entry = EntryAssembly(publishFolder, projectFile);
                Done(json, $"Published {projectName} to {publishFolder} ({timer.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s)");

                var deployEnvironment = new Dictionary<string, string> { [ModalApp.DeployVariable] = appName ?? "1" };
                if (images.Registry.Length > 0)
                {
                    var app = await DescribeAsync(entry, publishFolder, folder, deployEnvironment, connection, cancellationToken);
                    timer.Restart();
                    string image = await StepAsync(json, $"Building the worker image (PublishContainer) and pushing it to {images.Registry}",
                        () => ContainerPublish.PublishAsync(publishArguments, userProperties, folder, app, appName ?? app.AppName, images, connection, cancellationToken));
                    Done(json, $"Pushed the worker image {image} ({timer.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s)");
                    deployEnvironment[DeployImageVariable] = image;
                }
                string resultFile = Path.Combine(folder, "result.json");
                deployEnvironment[ResultVariable] = resultFile;
                var deployed = await StepAsync(json, $"Uploading the build output to {connection.ServerUrl} and registering a version",
                    () => Dotnet.RunAppAsync(entry, connection, capture: true, cancellationToken, deployEnvironment, publishFolder));
                if (deployed.ExitCode != 0 || !File.Exists(resultFile))
                {
                    await Console.Error.WriteAsync(deployed.Output);
                    throw new FailedException(deployed.ExitCode != 0
                        ? $"the published app {Path.GetFileName(entry)} could not deploy (exit code {deployed.ExitCode}); its output is above."
                        : $"the published app {Path.GetFileName(entry)} exited without deploying: its Main must start with ModalApp.RunAsync, " +
                          $"which deploys when {ModalApp.DeployVariable} is set.");
                }
                var result = JsonNode.Parse(await File.ReadAllTextAsync(resultFile, cancellationToken))!.AsObject();
                result["project"] = projectFile;
                if (json)
                {
                    Output.WriteJson(result);
                    return 0;
                }
                Done(json, $"Uploaded the build output: artifact {result["artifactDigest"]} ({result["filesUploaded"]} new file(s))");
                Done(json, $"Registered version {result["version"]} of app '{result["appName"]}' ({result["appId"]})" +
                    (result["image"] is { } recorded && (string?)recorded is { Length: > 0 } image2 ? $" with image {image2}" : ""));
                return 0;
            }
            finally
            {
                try
                {
                    Directory.Delete(folder, recursive: true); // the control plane keeps its own copy of the artifact
                }
                catch (IOException)
                {
                    // A file still open; the temporary folder is cleaned by the OS.
                }
            }
        }));
        return command;
    }

    /// <summary>Runs the published app to learn its name, entry assembly and functions (for the image's labels); it deploys nothing.</summary>
    private static async Task<ContainerPublish.AppDescription> DescribeAsync(string entry, string publishFolder, string folder,
        IReadOnlyDictionary<string, string> deployEnvironment, Connection connection, CancellationToken cancellationToken)
    {
        string file = Path.Combine(folder, "app.json");
        var described = await Dotnet.RunAppAsync(entry, connection, capture: true, cancellationToken,
            new Dictionary<string, string>(deployEnvironment) { [DescribeVariable] = file }, publishFolder);
        if (described.ExitCode != 0 || !File.Exists(file))
        {
            await Console.Error.WriteAsync(described.Output);
            throw new FailedException($"the published app {Path.GetFileName(entry)} could not describe its functions (exit code {described.ExitCode}); " +
                $"its output is above. Its Main must start with ModalApp.RunAsync.");
        }
        return ContainerPublish.AppDescription.Parse(await File.ReadAllTextAsync(file, cancellationToken));
    }

    /// <summary>
    /// The published app's entry assembly: the one whose <c>.runtimeconfig.json</c> the publish wrote; for a NativeAOT
    /// publish (no runtime configuration), the executable named after the project.
    /// </summary>
    private static string EntryAssembly(string publishFolder, string projectFile)
    {
        var configs = Directory.GetFiles(publishFolder, "*.runtimeconfig.json");
        string native = Path.Combine(publishFolder, Path.GetFileNameWithoutExtension(projectFile));
        if (configs.Length == 0 && File.Exists(native) && !OperatingSystem.IsWindows() && (File.GetUnixFileMode(native) & UnixFileMode.UserExecute) != 0)
        {
            return native;
        }
        if (configs.Length != 1)
        {
            throw new UsageException(
                $"the publish output of {Path.GetFileName(projectFile)} holds {configs.Length} runtime configurations, not one: 'modal deploy' deploys an " +
                "app project (<OutputType>Exe</OutputType>) whose Main calls ModalApp.RunAsync.");
        }
        string entry = configs[0][..^".runtimeconfig.json".Length] + ".dll";
        return File.Exists(entry) ? entry : throw new FailedException($"the publish output has {Path.GetFileName(configs[0])} but no {Path.GetFileName(entry)}.");
    }

    /// <summary>Runs one long step under a spinner (on a terminal; a plain line otherwise, nothing with --json).</summary>
    private static async Task<T> StepAsync<T>(bool json, string description, Func<Task<T>> step)
    {
        if (json)
        {
            return await step();
        }
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(description)}...[/]");
            return await step();
        }
        return await AnsiConsole.Status().StartAsync(Markup.Escape(description) + "...", _ => step());
    }

    private static void Done(bool json, string text)
    {
        if (!json)
        {
            AnsiConsole.MarkupLine($"[green]✓[/] {Markup.Escape(text)}");
        }
    }
}
