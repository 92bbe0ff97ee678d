using System.CommandLine;

namespace Modal.Server;

/// <summary>
/// The standalone control plane's command line, on System.CommandLine: <c>modal server</c> and
/// <c>dotnet run --project src/Server --</c> both take these options, print usage for <c>--help</c>, and answer a bad
/// flag with one line and exit code 2.
/// </summary>
public static class ControlPlaneCommandLine
{
    /// <summary>The exit code of a command line that cannot be parsed.</summary>
    public const int UsageExitCode = 2;

    private static readonly Option<int> s_port = new("--port")
    {
        Description = "The port to listen on (0 picks a free one).",
        DefaultValueFactory = _ => 50051,
        HelpName = "PORT",
    };

    private static readonly Option<string?> s_database = new("--db")
    {
        Description = "The SQLite file, or postgresql://USER[:PASSWORD]@HOST:PORT/DB (replicas share one database). Default: a temporary SQLite file.",
        HelpName = "FILE|URL",
    };

    private static readonly Option<string> s_listen = new("--listen")
    {
        Description = "The address to listen on.",
        DefaultValueFactory = _ => "127.0.0.1",
        HelpName = "ADDRESS",
    };

    private static readonly Option<string?> s_blobs = new("--blobs")
    {
        Description = "Where large payloads are kept. Default: a temporary directory.",
        HelpName = "DIRECTORY",
    };

    private static readonly Option<string?> s_tokenId = new("--token-id") { Description = "Require this token id from callers.", HelpName = "ID" };

    private static readonly Option<string?> s_tokenSecret = new("--token-secret") { Description = "Require this token secret from callers.", HelpName = "SECRET" };

    private static readonly Option<string?> s_tlsCertificate = new("--tls-cert")
    {
        Description = "The TLS certificate (PEM) to serve; required to listen beyond loopback unless --insecure.",
        HelpName = "FILE",
    };

    private static readonly Option<string?> s_tlsKey = new("--tls-key") { Description = "The TLS certificate's private key (PEM).", HelpName = "FILE" };

    private static readonly Option<bool> s_insecure = new("--insecure")
    {
        Description = "Listen beyond loopback without TLS (tokens then travel in clear text; prints a warning).",
    };

    private static readonly Option<string[]> s_workerBind = new("--worker-bind")
    {
        Description = "A folder sandboxed workers may write to (repeatable); workers see nothing else of the host's writable files.",
        HelpName = "DIRECTORY",
        AllowMultipleArgumentsPerToken = false,
    };

    private static readonly Option<string> s_launcher = new("--launcher")
    {
        Description = "How workers run: process (local processes, sandboxed), podman (a container per worker from the app version's image; " +
            "needs --registry) or kubernetes (a pod per worker from the app's deployed image; see the --kubernetes-* options).",
        DefaultValueFactory = _ => "process",
        HelpName = "process|podman|kubernetes",
    };

    private static readonly Option<string?> s_registry = new("--registry")
    {
        Description = "The registry worker images are pushed to and pulled from (HOST:PORT[/PREFIX]); 'modal deploy' builds each version's image there. " +
            "A loopback registry (localhost, 127.0.0.1) is reached over plain HTTP.",
        HelpName = "HOST:PORT",
    };

    private static readonly Option<string?> s_baseImage = new("--base-image")
    {
        Description = "The image worker images start from (a .NET runtime). Default: REGISTRY/modal/dotnet-runtime:VERSION, the .NET version of this server.",
        HelpName = "IMAGE",
    };

    private static readonly Option<double> s_cpuOvercommit = new("--cpu-overcommit")
    {
        Description = "Containers' Cpu requests may add up to the launcher's cores (this machine's, for processes) times this.",
        DefaultValueFactory = _ => 1,
        HelpName = "FACTOR",
    };

    private static readonly Option<double> s_memoryOvercommit = new("--memory-overcommit")
    {
        Description = "Containers' MemoryMb requests may add up to the launcher's memory (this machine's, for processes) times this.",
        DefaultValueFactory = _ => 1,
        HelpName = "FACTOR",
    };

    private static readonly Option<double?> s_capacityCpu = new("--capacity-cpu")
    {
        Description = "The cores containers may request in all, instead of the launcher's cores times --cpu-overcommit (bounds a Kubernetes launcher).",
        HelpName = "CORES",
    };

    private static readonly Option<double?> s_capacityMemoryMb = new("--capacity-memory-mb")
    {
        Description = "The MiB containers may request in all, instead of the launcher's memory times --memory-overcommit.",
        HelpName = "MIB",
    };

    private static readonly Option<int?> s_containersBeforeUtilization = new("--containers-before-utilization")
    {
        Description = "Containers a function with a backlog gets before any has measured how busy its input slots are; more come only " +
            "while they are busy. Default: this machine's cores (process, podman), unlimited (kubernetes).",
        HelpName = "COUNT",
    };

    private static readonly Option[] s_capacityOptions =
        [s_cpuOvercommit, s_memoryOvercommit, s_capacityCpu, s_capacityMemoryMb, s_containersBeforeUtilization];

    private static readonly Option<string?> s_kubeconfig = new("--kubeconfig")
    {
        Description = "With --launcher kubernetes: the kubeconfig file. Default: KUBECONFIG, else ~/.kube/config.",
        HelpName = "FILE",
    };

    private static readonly Option<string?> s_kubernetesContext = new("--kubernetes-context")
    {
        Description = "With --launcher kubernetes: the kubeconfig context. Default: its current context.",
        HelpName = "NAME",
    };

    private static readonly Option<bool> s_kubernetesInCluster = new("--kubernetes-in-cluster")
    {
        Description = "With --launcher kubernetes: use the service account of the pod this server runs in instead of a kubeconfig.",
    };

    private static readonly Option<string?> s_kubernetesNamespace = new("--kubernetes-namespace")
    {
        Description = "With --launcher kubernetes: the namespace of the workers' pods and secrets. Default: the context's namespace (in a pod: its own), else default.",
        HelpName = "NAMESPACE",
    };

    private static readonly Option<string?> s_kubernetesServerUrl = new("--kubernetes-server-url")
    {
        Description = "With --launcher kubernetes (required): this control plane's URL as pods reach it, e.g. http://modal.modal-system.svc:50051.",
        HelpName = "URL",
    };

    private static readonly Option<string[]> s_kubernetesImagePullSecret = new("--kubernetes-image-pull-secret")
    {
        Description = "With --launcher kubernetes: a secret in the namespace for pulling worker images from a private registry (repeatable).",
        HelpName = "NAME",
        AllowMultipleArgumentsPerToken = false,
    };

    private static readonly Option[] s_kubernetesOptions =
        [s_kubeconfig, s_kubernetesContext, s_kubernetesInCluster, s_kubernetesNamespace, s_kubernetesServerUrl, s_kubernetesImagePullSecret];

    static ControlPlaneCommandLine()
    {
        s_launcher.AcceptOnlyFromAmong("process", "podman", "kubernetes");
        s_cpuOvercommit.Validators.Add(result => CheckPositive(result, result.GetValueOrDefault<double>()));
        s_memoryOvercommit.Validators.Add(result => CheckPositive(result, result.GetValueOrDefault<double>()));
        s_capacityCpu.Validators.Add(result => CheckPositive(result, result.GetValueOrDefault<double?>()));
        s_capacityMemoryMb.Validators.Add(result => CheckPositive(result, result.GetValueOrDefault<double?>()));
        s_containersBeforeUtilization.Validators.Add(result => CheckPositive(result, result.GetValueOrDefault<int?>()));
        s_registry.Validators.Add(result =>
        {
            string registry = result.GetValueOrDefault<string?>() ?? "";
            if (registry.Length == 0 || registry.Contains("://", StringComparison.Ordinal) || registry.Any(char.IsWhiteSpace) || registry.StartsWith('/'))
            {
                result.AddError($"--registry '{registry}' is not HOST[:PORT][/PREFIX] (no scheme), for example localhost:5000 or registry.example.com/modal.");
            }
        });
        s_kubernetesServerUrl.Validators.Add(result =>
        {
            string url = result.GetValueOrDefault<string?>() ?? "";
            try
            {
                Launching.KubernetesLauncher.CheckServerUrl(url);
            }
            catch (ArgumentException exception)
            {
                result.AddError(exception.Message);
            }
        });
    }

    /// <summary>Adds the server's options to <paramref name="command"/> and makes it run the control plane until SIGINT or SIGTERM.</summary>
    public static TCommand AddServer<TCommand>(TCommand command)
        where TCommand : Command
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var option in new Option[] { s_port, s_database, s_listen, s_blobs, s_tokenId, s_tokenSecret, s_tlsCertificate, s_tlsKey, s_insecure, s_workerBind, s_launcher, s_registry, s_baseImage }
            .Concat(s_capacityOptions).Concat(s_kubernetesOptions))
        {
            command.Options.Add(option);
        }
        command.Validators.Add(CheckLauncher);
        command.SetAction(async (parseResult, _) =>
        {
            await StandaloneControlPlane.RunAsync(ToOptions(parseResult), Console.Out).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Parses and runs a command line: a parse error is one line on standard error (what was wrong, and where the help
    /// is) and exit code <see cref="UsageExitCode"/>; <c>--help</c> prints usage.
    /// </summary>
    /// <param name="root">The command tree.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="helpHint">How to ask for help, for the error line (for example <c>modal --help</c>).</param>
    public static async Task<int> InvokeAsync(RootCommand root, IReadOnlyList<string> args, string helpHint)
    {
        ArgumentNullException.ThrowIfNull(root);
        var parseResult = root.Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            var command = string.Join(' ', parseResult.CommandResult.Command is RootCommand ? [] : CommandPath(parseResult));
            await Console.Error.WriteLineAsync(
                $"{root.Name}: {parseResult.Errors[0].Message} See '{helpHint}{(command.Length > 0 ? " " + command : string.Empty)} --help'.").ConfigureAwait(false);
            return UsageExitCode;
        }
        return await parseResult.InvokeAsync().ConfigureAwait(false);
    }

    /// <summary>Turns command-line arguments into options; a bad argument throws with its name.</summary>
    /// <exception cref="ArgumentException">The arguments do not parse.</exception>
    public static ControlPlaneOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var parseResult = AddServer(new RootCommand()).Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", parseResult.Errors.Select(error => error.Message)));
        }
        return ToOptions(parseResult);
    }

    private static ControlPlaneOptions ToOptions(ParseResult parseResult) => new()
    {
        Standalone = true,
        Port = parseResult.GetValue(s_port),
        DatabasePath = parseResult.GetValue(s_database),
        ListenAddress = parseResult.GetValue(s_listen) ?? "127.0.0.1",
        BlobDirectory = parseResult.GetValue(s_blobs),
        TokenId = parseResult.GetValue(s_tokenId),
        TokenSecret = parseResult.GetValue(s_tokenSecret),
        TlsCertificatePath = parseResult.GetValue(s_tlsCertificate),
        TlsKeyPath = parseResult.GetValue(s_tlsKey),
        Insecure = parseResult.GetValue(s_insecure),
        WorkerWritablePaths = [.. (parseResult.GetValue(s_workerBind) ?? []).Select(Path.GetFullPath)],
        CpuOvercommit = parseResult.GetValue(s_cpuOvercommit),
        MemoryOvercommit = parseResult.GetValue(s_memoryOvercommit),
        CapacityCpu = parseResult.GetValue(s_capacityCpu),
        CapacityMemoryMb = parseResult.GetValue(s_capacityMemoryMb),
        ContainersBeforeUtilization = parseResult.GetValue(s_containersBeforeUtilization),
        ImageRegistry = parseResult.GetValue(s_registry),
        BaseImage = parseResult.GetValue(s_baseImage),
        Podman = parseResult.GetValue(s_launcher) == "podman" ? new Launching.PodmanLauncherOptions() : null,
        Kubernetes = parseResult.GetValue(s_launcher) == "kubernetes"
            ? new Launching.KubernetesLauncherOptions
            {
                KubeconfigPath = parseResult.GetValue(s_kubeconfig) is { } kubeconfig ? Path.GetFullPath(kubeconfig) : null,
                Context = parseResult.GetValue(s_kubernetesContext),
                InCluster = parseResult.GetValue(s_kubernetesInCluster),
                Namespace = parseResult.GetValue(s_kubernetesNamespace),
                ServerUrl = parseResult.GetValue(s_kubernetesServerUrl),
                ImagePullSecrets = parseResult.GetValue(s_kubernetesImagePullSecret) ?? [],
            }
            : null,
    };

    private static void CheckPositive(System.CommandLine.Parsing.OptionResult result, double? value)
    {
        if (value is { } given && !(double.IsFinite(given) && given > 0))
        {
            result.AddError($"{result.Option.Name} is {given.ToString(System.Globalization.CultureInfo.InvariantCulture)}: give a positive number.");
        }
    }

    /// <summary>The --kubernetes-* options go with --launcher kubernetes, which needs the URL pods reach the server at; podman needs a registry.</summary>
    private static void CheckLauncher(System.CommandLine.Parsing.CommandResult result)
    {
        // The token as given: a value outside process|kubernetes is the option's own error, reported beside these.
        bool kubernetes = result.GetResult(s_launcher)?.Tokens is [.., { Value: "kubernetes" }];
        var given = s_kubernetesOptions.Where(option => result.GetResult(option) is { Implicit: false }).Select(option => option.Name).ToList();
        bool podman = result.GetResult(s_launcher)?.Tokens is [.., { Value: "podman" }];
        if (podman && result.GetValue(s_registry) is null)
        {
            result.AddError("--launcher podman needs --registry HOST:PORT: containers run the image each app version was deployed with, " +
                "which 'modal deploy' pushes to that registry (for example --registry localhost:5000).");
        }
        else if (result.GetResult(s_baseImage) is { Implicit: false } && result.GetValue(s_registry) is null)
        {
            result.AddError("--base-image goes with --registry: give the registry worker images are pushed to.");
        }
        else if (!kubernetes && given.Count > 0)
        {
            result.AddError($"{given[0]} applies only to --launcher kubernetes; add --launcher kubernetes or remove {given[0]}.");
        }
        else if (kubernetes && result.GetValue(s_kubernetesServerUrl) is null)
        {
            result.AddError("--launcher kubernetes needs --kubernetes-server-url URL: this control plane's address as pods reach it " +
                "(for example http://modal.modal-system.svc:50051); the address it listens on is usually loopback, which pods cannot reach.");
        }
        else if (kubernetes && result.GetValue(s_kubernetesInCluster) && result.GetResult(s_kubeconfig) is { Implicit: false })
        {
            result.AddError("--kubernetes-in-cluster and --kubeconfig exclude each other: give one.");
        }
    }

    private static IEnumerable<string> CommandPath(ParseResult parseResult)
    {
        var names = new Stack<string>();
        for (var result = parseResult.CommandResult; result is not null && result.Command is not RootCommand; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Push(result.Command.Name);
        }
        return names;
    }
}
