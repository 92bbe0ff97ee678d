using System.Globalization;
using Modal.Hosting;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Modal.Cli;

/// <summary>
/// Progress on an interactive terminal: a live region under the project's output (Spectre.Console), redrawn on each poll,
/// with a bar per map (function, call, done/total, rate), each function's single calls, and its containers running and
/// starting. The project's lines are written through the same console, so they scroll above the region.
/// </summary>
internal sealed class LiveProgressView : ProgressView
{
    private const int BarWidth = 24;
    private const int MapsShown = 8;

    private readonly Lock _lock = new();
    private readonly List<RunReport.Entry> _found = [];
    private IReadOnlyList<AppProgressState> _latest = [];
    private LiveDisplayContext? _context;

    public override TimeSpan DefaultInterval => TimeSpan.FromMilliseconds(500);

    public override Task<int> RunAsync(Func<Task<int>> body) =>
        AnsiConsole.Live(Render()).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).StartAsync(async context =>
        {
            lock (_lock)
            {
                _context = context;
            }
            try
            {
                return await body();
            }
            finally
            {
                lock (_lock)
                {
                    context.UpdateTarget(Render());
                    context.Refresh();
                    _context = null;
                }
            }
        });

    public override void AppFound(RunReport.Entry app)
    {
        lock (_lock)
        {
            _found.Add(app);
            Redraw();
        }
    }

    public override void Update(IReadOnlyList<AppProgressState> apps)
    {
        lock (_lock)
        {
            _latest = apps;
            Redraw();
        }
    }

    public override void Output(bool stderr, string line)
    {
        if (stderr && Console.IsErrorRedirected)
        {
            Console.Error.WriteLine(line); // not this terminal: nothing to draw around
            return;
        }
        lock (_lock)
        {
            AnsiConsole.Write(new Text(line + "\n", stderr ? new Style(Color.Red) : Style.Plain));
        }
    }

    public override void Warning(string message)
    {
        lock (_lock)
        {
            AnsiConsole.Write(new Text($"modal: warning: {message}\n", new Style(Color.Yellow)));
        }
    }

    private void Redraw()
    {
        if (_context is { } context)
        {
            context.UpdateTarget(Render());
            context.Refresh();
        }
    }

    private IRenderable Render()
    {
        var rows = new List<IRenderable>();
        if (_found.Count == 0)
        {
            rows.Add(new Markup("[grey]modal: waiting for the project to register its app…[/]"));
        }
        foreach (var app in _found)
        {
            var state = _latest.FirstOrDefault(candidate => candidate.App.AppId == app.AppId);
            rows.Add(new Markup($"[bold]{Markup.Escape(app.AppName)}[/] [grey]{Markup.Escape(app.AppId)} {Markup.Escape(state?.State ?? "starting")}[/]"));
            if (state is null)
            {
                continue;
            }
            var maps = state.Maps;
            if (maps.Count > MapsShown)
            {
                rows.Add(new Markup($"  [grey]… {maps.Count - MapsShown} earlier calls[/]"));
                maps = [.. maps.Skip(maps.Count - MapsShown)];
            }
            if (maps.Count > 0)
            {
                // Columns line the bars up; the call id is cut to what tells calls apart on one screen (--json and plain lines give it whole).
                var grid = new Grid().AddColumns(5);
                foreach (var map in maps)
                {
                    grid.AddRow(
                        new Markup("  " + Markup.Escape(map.Function)),
                        new Markup($"[grey]{Markup.Escape(map.CallId.Length > 12 ? map.CallId[..11] + "…" : map.CallId)}[/]"),
                        new Markup(Bar(map)),
                        new Markup(string.Create(CultureInfo.InvariantCulture, $"{map.Done}/{map.Total}{(map.InputsComplete || map.Finished ? "" : "+")}")),
                        new Markup(Markup.Escape(Rate(map).Trim())));
                }
                rows.Add(grid);
            }
            foreach (var calls in state.SingleCalls)
            {
                rows.Add(new Markup($"  {Markup.Escape(calls.Function)}: {Markup.Escape(Describe(calls))}"));
            }
            foreach (var containers in state.Containers.Where(containers => containers.Running + containers.Starting + containers.Backlog > 0))
            {
                rows.Add(new Markup(string.Create(CultureInfo.InvariantCulture,
                    $"  {Markup.Escape(containers.Function)} containers: [green]{containers.Running} running[/], [yellow]{containers.Starting} starting[/]" +
                    $"[grey]; {containers.RunningInputs} inputs running, {containers.Backlog} waiting[/]")));
            }
        }
        return new Rows(rows);
    }

    private static string Bar(MapProgress map)
    {
        int filled = map.Total > 0 ? (int)((long)map.Done * BarWidth / map.Total) : 0;
        bool unicode = AnsiConsole.Profile.Capabilities.Unicode;
        char full = unicode ? '━' : '#';
        char empty = unicode ? '━' : '-';
        string color = map.Finished ? "green" : "blue";
        return $"[{color}]{new string(full, filled)}[/][grey]{new string(empty, BarWidth - filled)}[/]";
    }
}
