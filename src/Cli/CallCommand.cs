using System.Collections;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Modal.Api;

namespace Modal.Cli;

/// <summary>
/// <c>modal call &lt;app&gt; &lt;function&gt; [json-args]</c>: calls a deployed function through the runtime's by-name path
/// (<c>Function.FromName(...).RemoteAsync&lt;object?&gt;</c>, on a client-only connection made with <c>AddModal</c>), so the
/// arguments are encoded exactly as an untyped call encodes them: each JSON value becomes the plain .NET value MessagePack
/// writes (number, string, bool, null, array, map), and the worker decodes it as the parameter's type. The result is
/// decoded as an untyped value and printed as JSON.
/// </summary>
internal static class CallCommand
{
    /// <summary>The client-only app that a call connects as (it has no functions and stops when the command ends).</summary>
    public const string CallerAppName = "modal-call";

    public static Command Call()
    {
        var app = new Argument<string>("app") { Description = "The deployed app's name." };
        var function = new Argument<string>("function") { Description = "The function's name." };
        var arguments = new Argument<string[]>("json-args")
        {
            Description = "One JSON value per parameter, in order: 7, 2.5, true, null, '\"text\"', '[1,2]', '{\"Name\":\"x\"}' " +
                "(an object's keys are the parameter type's member names).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var version = new Option<int?>("--version")
        {
            Description = "The deployed version of the app to call (1, 2, 3...). Default: the newest.", HelpName = "N",
        };
        var command = new Command("call", "Call a deployed function with JSON arguments and print its result as JSON.") { app, function, arguments, version };
        command.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, connection) =>
        {
            string appName = parseResult.GetValue(app)!;
            string functionName = parseResult.GetValue(function)!;
            object?[] values = [.. (parseResult.GetValue(arguments) ?? []).Select(FromJson)];
            int? pinned = parseResult.GetValue(version);
            if (pinned is < 1)
            {
                throw new UsageException($"--version {pinned} is not a version: versions count from 1 (each deploy makes the next). Leave it out for the newest.");
            }
            var found = await AdminCommands.GetFunctionAsync(client, appName, functionName, unknownIsUsage: true, cancellationToken, pinned);
            if (found.Spec.Kind == Api.FunctionKind.Generator)
            {
                throw new UsageException($"{functionName} is a generator function ({found.Spec.Signature}); 'modal call' runs unary and batched functions.");
            }
            if (values.Length != found.Spec.ParameterCount)
            {
                throw new UsageException($"{functionName} takes {found.Spec.ParameterCount} argument(s) ({found.Spec.Signature}) but " +
                    $"{values.Length} were given: pass one JSON value per parameter.");
            }
            return await InvokeAsync(connection, appName, functionName, pinned, values, cancellationToken);
        }));
        command.Add(Connection.ServerOption);
        return command;
    }

    private static async Task<int> InvokeAsync(
        Connection connection, string appName, string functionName, int? version, object?[] values, CancellationToken cancellationToken)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddModal(new ModalAppOptions
        {
            AppName = CallerAppName, Mode = ModalMode.Remote, ServerUrl = connection.ServerUrls, TokenId = connection.TokenId,
            TokenSecret = connection.TokenSecret, RetryWindow = TimeSpan.FromSeconds(10),
        });
        using var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken); // connects (AuthenticationException, ConnectionException are handled below)
            var result = await Modal.Function.FromName(appName, functionName, version: version).RemoteAsync<object?>(values, cancellationToken);
            Output.WriteJson(ToJson(result));
            return 0;
        }
        catch (RemoteFunctionException exception)
        {
            await Console.Error.WriteLineAsync($"modal: {functionName} failed remotely: {exception.RemoteType}: {exception.RemoteMessage}");
            if (!string.IsNullOrEmpty(exception.RemoteStackTrace))
            {
                await Console.Error.WriteLineAsync(exception.RemoteStackTrace);
            }
            return Connection.FailedExitCode;
        }
        catch (Exception exception) when (exception is InvalidInputException or NotFoundException)
        {
            throw new UsageException(exception.Message); // the arguments do not fit the function, or it went away
        }
        catch (ModalException exception)
        {
            throw new FailedException($"{functionName} failed: {exception.Message}");
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>One command-line argument as the plain value MessagePack writes for it.</summary>
    private static object? FromJson(string text, int index)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return FromJson(document.RootElement);
        }
        catch (JsonException exception)
        {
            throw new UsageException($"argument {index + 1} ('{text}') is not JSON: {exception.Message} " +
                "Write strings in JSON quotes, for example '\"text\"'.");
        }
    }

    private static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        // Boxed one by one: a conditional over long, ulong and double would make every number a double.
        JsonValueKind.Number => element.TryGetInt64(out long integer) ? (object)integer
            : element.TryGetUInt64(out ulong unsigned) ? (object)unsigned
            : (object)element.GetDouble(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToArray(),
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(property => property.Name, property => FromJson(property.Value)),
        _ => null,
    };

    /// <summary>An untyped MessagePack value (what <c>RemoteAsync&lt;object?&gt;</c> decodes) as JSON; bytes become base64.</summary>
    internal static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        string text => JsonValue.Create(text),
        bool flag => JsonValue.Create(flag),
        byte[] bytes => JsonValue.Create(Convert.ToBase64String(bytes)),
        sbyte or byte or short or ushort or int or uint or long => JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
        ulong unsigned => JsonValue.Create(unsigned),
        float single => JsonValue.Create(single),
        double number => JsonValue.Create(number),
        DateTime time => JsonValue.Create(time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)),
        IDictionary map => new JsonObject(map.Cast<DictionaryEntry>().Select(entry =>
            KeyValuePair.Create(Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? string.Empty, ToJson(entry.Value)))),
        IEnumerable items => new JsonArray([.. items.Cast<object?>().Select(ToJson)]),
        _ => JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
    };
}
