using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Modal.Api;
using Modal.Server;
using Spectre.Console;

namespace Modal.Cli;

/// <summary>
/// <c>modal app list|stop</c> and <c>modal function list</c>: calls to a control plane named by <c>--server</c>, else
/// <c>MODAL_SERVER_URL</c>, with the token in <c>MODAL_TOKEN_ID</c> and <c>MODAL_TOKEN_SECRET</c>. Listings print a table,
/// or JSON with <c>--json</c>.
/// </summary>
internal static class AdminCommands
{
    private const int CallFailedExitCode = 1;

    private static readonly Option<string?> s_server = new("--server")
    {
        Description = "The control plane's URL. Default: MODAL_SERVER_URL, else http://127.0.0.1:50051.",
        HelpName = "URL",
        Recursive = true,
    };

    private static readonly Option<bool> s_json = new("--json") { Description = "Print JSON instead of a table." };

    public static Command App()
    {
        var list = new Command("list", "List the apps: id, name, kind, state, running containers.") { s_json };
        list.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, async client =>
        {
            var apps = (await client.AppListAsync(new AppListRequest(), cancellationToken: cancellationToken)).Apps;
            if (parseResult.GetValue(s_json))
            {
                WriteJson(apps.Select(app => new JsonObject
                {
                    ["appId"] = app.AppId, ["name"] = app.Name, ["kind"] = KindName(app.Kind), ["state"] = app.State,
                    ["runningContainers"] = app.RunningContainers, ["createdUnixMs"] = app.CreatedUnixMs,
                }));
                return 0;
            }
            var table = new Table().AddColumns("App id", "Name", "Kind", "State", "Containers", "Created (UTC)");
            foreach (var app in apps)
            {
                table.AddRow(Markup.Escape(app.AppId), Markup.Escape(app.Name), KindName(app.Kind), Markup.Escape(app.State),
                    app.RunningContainers.ToString(CultureInfo.InvariantCulture),
                    DateTimeOffset.FromUnixTimeMilliseconds(app.CreatedUnixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
            }
            AnsiConsole.Write(table);
            return 0;
        }));

        var appArgument = new Argument<string>("app") { Description = "The app's id (ap-...) or name." };
        var stop = new Command("stop", "Stop an app: its containers stop and its unfinished inputs are cancelled.") { appArgument };
        stop.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, async client =>
        {
            var wanted = parseResult.GetValue(appArgument)!;
            var apps = (await client.AppListAsync(new AppListRequest(), cancellationToken: cancellationToken)).Apps
                .Where(app => app.State != "stopped" && (app.AppId == wanted || app.Name == wanted))
                .ToList();
            if (apps.Count != 1)
            {
                await Console.Error.WriteLineAsync(apps.Count == 0
                    ? $"modal: no running or deployed app has the id or name '{wanted}'. 'modal app list' shows them."
                    : $"modal: {apps.Count} apps are named '{wanted}' ({string.Join(", ", apps.Select(app => app.AppId))}); stop one by its id.");
                return CallFailedExitCode;
            }
            await client.AppStopAsync(new AppStopRequest { AppId = apps[0].AppId }, cancellationToken: cancellationToken);
            Console.WriteLine($"Stopped app '{apps[0].Name}' ({apps[0].AppId}).");
            return 0;
        }));

        return new Command("app", "List and stop apps.") { list, stop, s_server };
    }

    public static Command Function()
    {
        var app = new Option<string?>("--app") { Description = "Only this app's functions.", HelpName = "NAME" };
        var list = new Command("list", "List the functions of the apps that are not stopped.") { app, s_json };
        list.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, async client =>
        {
            var request = new FunctionListRequest { AppName = parseResult.GetValue(app) ?? string.Empty };
            var functions = (await client.FunctionListAsync(request, cancellationToken: cancellationToken)).Functions;
            if (parseResult.GetValue(s_json))
            {
                WriteJson(functions.Select(function => new JsonObject
                {
                    ["functionId"] = function.FunctionId, ["appId"] = function.AppId, ["appName"] = function.AppName,
                    ["name"] = function.Name, ["kind"] = KindName(function.Kind),
                }));
                return 0;
            }
            var table = new Table().AddColumns("Function id", "App", "Name", "Kind");
            foreach (var function in functions)
            {
                table.AddRow(Markup.Escape(function.FunctionId), Markup.Escape(function.AppName), Markup.Escape(function.Name), KindName(function.Kind));
            }
            AnsiConsole.Write(table);
            return 0;
        }));
        return new Command("function", "List functions.") { list, s_server };
    }

    /// <summary>Runs one admin action with a client; a failed call is one line on standard error and exit code 1.</summary>
    private static async Task<int> RunAsync(ParseResult parseResult, Func<ModalClient.ModalClientClient, Task<int>> action)
    {
        var url = parseResult.GetValue(s_server) is { Length: > 0 } given ? given
            : Environment.GetEnvironmentVariable("MODAL_SERVER_URL") is { Length: > 0 } configured ? configured.Split(',')[0].Trim()
            : "http://127.0.0.1:50051";
        try
        {
            using var channel = GrpcChannel.ForAddress(url);
            var headers = new Metadata();
            if (Environment.GetEnvironmentVariable("MODAL_TOKEN_ID") is { Length: > 0 } tokenId)
            {
                headers.Add("x-modal-token-id", tokenId);
            }
            if (Environment.GetEnvironmentVariable("MODAL_TOKEN_SECRET") is { Length: > 0 } tokenSecret)
            {
                headers.Add("x-modal-token-secret", tokenSecret);
            }
            var invoker = channel.Intercept(metadata =>
            {
                foreach (var header in headers)
                {
                    metadata.Add(header);
                }
                return metadata;
            });
            return await action(new ModalClient.ModalClientClient(invoker)).ConfigureAwait(false);
        }
        catch (RpcException exception)
        {
            await Console.Error.WriteLineAsync(exception.StatusCode == StatusCode.Unavailable
                ? $"modal: the control plane at {url} cannot be reached ({exception.Status.Detail}). Start one with 'modal server', or set --server or MODAL_SERVER_URL."
                : $"modal: the control plane at {url} answered {exception.StatusCode}: {exception.Status.Detail}").ConfigureAwait(false);
            return CallFailedExitCode;
        }
        catch (UriFormatException)
        {
            await Console.Error.WriteLineAsync($"modal: '{url}' is not a URL (for example http://127.0.0.1:50051).").ConfigureAwait(false);
            return ControlPlaneCommandLine.UsageExitCode;
        }
    }

    private static void WriteJson(IEnumerable<JsonObject> items)
        => Console.WriteLine(new JsonArray([.. items]).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    private static string KindName(AppKind kind) => kind == AppKind.Deployed ? "deployed" : "ephemeral";

    private static string KindName(FunctionKind kind) => kind.ToString().ToLowerInvariant();
}
