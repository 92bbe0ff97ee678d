using System.CommandLine;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Modal.Api;
using Modal.Hosting;
using Modal.Server;

namespace Modal.Cli;

/// <summary>
/// Where the commands connect and with which token. Each setting comes from the first of: the command line
/// (<c>--server</c>), the <c>MODAL_*</c> variables, the profile file, the default (<c>http://127.0.0.1:50051</c>, no token).
/// The token id and secret travel as a pair: when either variable is set both come from the variables.
/// </summary>
internal sealed record Connection(string ServerUrls, string? TokenId, string? TokenSecret)
{
    public const int FailedExitCode = 1;
    public const string DefaultServerUrl = "http://127.0.0.1:50051";

    public static readonly Option<string?> ServerOption = new("--server")
    {
        Description = "The control plane's URL. Default: MODAL_SERVER_URL, else server_url in the profile file, else " + DefaultServerUrl + ".",
        HelpName = "URL",
        Recursive = true,
    };

    /// <summary>The first of the URLs (MODAL_SERVER_URL may list replicas), which the admin calls use.</summary>
    public string ServerUrl => ServerUrls.Split(',')[0].Trim();

    /// <summary>A client on <paramref name="channel"/> that presents this connection's token on every call.</summary>
    public ModalClient.ModalClientClient ClientOf(GrpcChannel channel)
    {
        var headers = new Metadata();
        if (TokenId is { } tokenId)
        {
            headers.Add("x-modal-token-id", tokenId);
        }
        if (TokenSecret is { } tokenSecret)
        {
            headers.Add("x-modal-token-secret", tokenSecret);
        }
        return new ModalClient.ModalClientClient(channel.Intercept(metadata =>
        {
            foreach (var header in headers)
            {
                metadata.Add(header);
            }
            return metadata;
        }));
    }

    /// <summary>The settings for this command line (<see cref="ClientSettings"/>, with <c>--server</c> first).</summary>
    /// <exception cref="ProfileFileException">The profile file is bad.</exception>
    public static Connection Resolve(ParseResult parseResult)
    {
        // The tool refuses a bad profile file even when --server and the variables leave it unused (apps read it only when needed).
        var profile = ProfileFile.Read();
        var settings = ClientSettings.Resolve(new ModalAppOptions { ServerUrl = parseResult.GetValue(ServerOption) },
            Environment.GetEnvironmentVariable, () => profile);
        return new Connection(settings.ServerUrl ?? DefaultServerUrl, settings.TokenId, settings.TokenSecret);
    }

    /// <summary>
    /// Runs one command's action with a client of the control plane. A failed call is one line on standard error and
    /// exit code 1; bad usage found by the action (<see cref="UsageException"/>) is exit code 2.
    /// </summary>
    public static async Task<int> RunAsync(ParseResult parseResult, Func<ModalClient.ModalClientClient, Connection, Task<int>> action)
    {
        string url = DefaultServerUrl;
        try
        {
            var connection = Resolve(parseResult);
            url = connection.ServerUrl;
            using var channel = GrpcChannel.ForAddress(url);
            return await action(connection.ClientOf(channel), connection).ConfigureAwait(false);
        }
        catch (RpcException exception)
        {
            await Console.Error.WriteLineAsync(Describe(exception, url)).ConfigureAwait(false);
            return FailedExitCode;
        }
        catch (FailedException exception)
        {
            await Console.Error.WriteLineAsync($"modal: {exception.Message}").ConfigureAwait(false);
            return FailedExitCode;
        }
        catch (Exception exception) when (exception is UsageException or ProfileFileException)
        {
            await Console.Error.WriteLineAsync($"modal: {exception.Message}").ConfigureAwait(false);
            return ControlPlaneCommandLine.UsageExitCode;
        }
        catch (UriFormatException)
        {
            await Console.Error.WriteLineAsync($"modal: '{url}' is not a URL (for example {DefaultServerUrl}).").ConfigureAwait(false);
            return ControlPlaneCommandLine.UsageExitCode;
        }
    }

    /// <summary>One line for a refused or failed call, with what to do about it.</summary>
    public static string Describe(RpcException exception, string url) => exception.StatusCode switch
    {
        StatusCode.Unavailable => $"modal: the control plane at {url} cannot be reached ({exception.Status.Detail}). " +
            "Start one with 'modal server', or set --server, MODAL_SERVER_URL or server_url in the profile file.",
        StatusCode.Unauthenticated => $"modal: the control plane at {url} refused the token: {exception.Status.Detail} " +
            "Set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, or token_id and token_secret in the profile file.",
        _ => $"modal: the control plane at {url} answered {exception.StatusCode}: {exception.Status.Detail}",
    };
}
