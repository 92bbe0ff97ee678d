using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Modal.Api;
using Spectre.Console;

namespace Modal.Cli;

/// <summary>How the commands print: tables for people, JSON (<c>--json</c>) for programs.</summary>
internal static class Output
{
    public static readonly Option<bool> JsonOption = new("--json") { Description = "Print JSON instead of a table." };

    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    public static void WriteJson(JsonNode? node) => Console.WriteLine(node?.ToJsonString(s_indented) ?? "null");

    public static void WriteJson(IEnumerable<JsonObject> items) => WriteJson(new JsonArray([.. items]));

    /// <summary>A table of rows (each cell escaped), or JSON when <c>--json</c> was given.</summary>
    public static int Write<T>(ParseResult parseResult, IEnumerable<T> items, Func<T, JsonObject> json, string[] columns, Func<T, string[]> row)
    {
        if (parseResult.GetValue(JsonOption))
        {
            WriteJson(items.Select(json));
            return 0;
        }
        return Table(columns, items.Select(row));
    }

    /// <summary>A table of rows, each cell escaped.</summary>
    public static int Table(string[] columns, IEnumerable<string[]> rows)
    {
        KeepLinesWhole();
        var table = new Table().AddColumns(columns);
        foreach (var row in rows)
        {
            table.AddRow([.. row.Select(Markup.Escape)]);
        }
        AnsiConsole.Write(table);
        return 0;
    }

    /// <summary>A pipe or a file has no width: Spectre.Console would wrap at 80 columns, so lines are kept whole instead.</summary>
    public static void KeepLinesWhole()
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 240;
        }
    }

    public static string Time(long unixMs) => unixMs == 0
        ? "-"
        : DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string KindName(AppKind kind) => kind == AppKind.Deployed ? "deployed" : "ephemeral";

    public static string KindName(Api.FunctionKind kind) => kind.ToString().ToLowerInvariant();
}
