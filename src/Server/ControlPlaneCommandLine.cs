using System.Globalization;

namespace Modal.Server;

/// <summary>Parses the standalone server's few options (<c>--port</c>, <c>--db</c>, <c>--listen</c>, <c>--blobs</c>, tokens, TLS).</summary>
public static class ControlPlaneCommandLine
{
    /// <summary>Turns command-line arguments into options; unknown arguments throw with their name.</summary>
    public static ControlPlaneOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new ControlPlaneOptions { Port = 50051, Standalone = true };
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"Option '{args[i]}' needs a value.");
            options = args[i] switch
            {
                "--port" => options with { Port = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--db" => options with { DatabasePath = Value() },
                "--listen" => options with { ListenAddress = Value() },
                "--blobs" => options with { BlobDirectory = Value() },
                "--token-id" => options with { TokenId = Value() },
                "--token-secret" => options with { TokenSecret = Value() },
                "--tls-cert" => options with { TlsCertificatePath = Value() },
                "--tls-key" => options with { TlsKeyPath = Value() },
                "--insecure" => options with { Insecure = true },
                "--worker-bind" => options with { WorkerWritablePaths = [.. options.WorkerWritablePaths, Path.GetFullPath(Value())] },
                _ => throw new ArgumentException(
                    $"Unknown option '{args[i]}'. Known: --port, --db, --listen, --blobs, --token-id, --token-secret, --tls-cert, --tls-key, --insecure, --worker-bind."),
            };
        }
        return options;
    }
}
