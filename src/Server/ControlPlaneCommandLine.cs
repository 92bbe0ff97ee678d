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

    /// <summary>Adds the server's options to <paramref name="command"/> and makes it run the control plane until SIGINT or SIGTERM.</summary>
    public static TCommand AddServer<TCommand>(TCommand command)
        where TCommand : Command
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var option in new Option[] { s_port, s_database, s_listen, s_blobs, s_tokenId, s_tokenSecret, s_tlsCertificate, s_tlsKey, s_insecure, s_workerBind })
        {
            command.Options.Add(option);
        }
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
    };

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
