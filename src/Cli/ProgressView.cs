using System.Globalization;
using Modal.Hosting;
using Spectre.Console;

namespace Modal.Cli;

/// <summary>
/// How <c>modal run</c> shows what the project's apps do while it runs, and the project's own output: a live display on a
/// terminal (<see cref="LiveProgressView"/>), plain lines otherwise (<see cref="PlainProgressView"/>), JSON lines with
/// <c>--json</c> (<see cref="JsonProgressView"/>). Output lines come from the project's reader threads, updates from the
/// follower: implementations serialize them.
/// </summary>
internal abstract class ProgressView
{
    private readonly Dictionary<string, string> _shown = new(StringComparer.Ordinal);

    /// <summary>The view for this console: JSON when asked, live on an interactive terminal, else plain lines.</summary>
    public static ProgressView Create(bool json) =>
        json ? new JsonProgressView()
        : !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive && AnsiConsole.Profile.Capabilities.Ansi ? new LiveProgressView()
        : new PlainProgressView();

    /// <summary>How often the follower polls when <c>--progress-interval</c> is not given.</summary>
    public virtual TimeSpan DefaultInterval => TimeSpan.FromSeconds(1);

    /// <summary>Runs the follower (and the project) inside the view; a live display lasts as long as <paramref name="body"/>.</summary>
    public virtual Task<int> RunAsync(Func<Task<int>> body) => body();

    /// <summary>The project registered an app, which is followed from now on.</summary>
    public abstract void AppFound(RunReport.Entry app);

    /// <summary>The followed apps as of the last poll.</summary>
    public abstract void Update(IReadOnlyList<AppProgressState> apps);

    /// <summary>One line the project wrote to its stdout (or, with <paramref name="stderr"/>, its stderr).</summary>
    public abstract void Output(bool stderr, string line);

    /// <summary>Progress could not be read (the project keeps running).</summary>
    public abstract void Warning(string message);

    /// <summary>The project exited with this code (after the last poll).</summary>
    public virtual void Exited(int exitCode)
    {
    }

    /// <summary>
    /// True when <paramref name="key"/> now stands for a state other than the one last shown (which it then becomes), or than
    /// <paramref name="unseen"/> when nothing was shown for it yet.
    /// </summary>
    protected bool Changed(string key, string state, string? unseen = null)
    {
        lock (_shown)
        {
            if ((_shown.TryGetValue(key, out var shown) ? shown : unseen) == state)
            {
                return false;
            }
            _shown[key] = state;
            return true;
        }
    }

    /// <summary>"120/300 inputs done (45.2/s)", and how long a finished call took.</summary>
    protected static string Describe(MapProgress map) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{map.Done}/{map.Total}{(map.InputsComplete || map.Finished ? "" : "+")} inputs done{Rate(map)}{(map.Finished && map.InputsComplete ? $", finished in {map.Seconds:0.0} s" : "")}");

    protected static string Rate(MapProgress map) =>
        map.PerSecond is { } rate ? string.Create(CultureInfo.InvariantCulture, $" ({rate:0.#}/s)") : "";

    protected static string Describe(ContainerProgress containers) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{containers.Running} running, {containers.Starting} starting; {containers.RunningInputs} inputs running, {containers.Backlog} waiting");

    protected static string Describe(SingleCallsProgress calls) =>
        string.Create(CultureInfo.InvariantCulture, $"{calls.Running} calls running, {calls.Done} done");

    protected static string Describe(RunReport.Entry app) => $"{app.Kind} app '{app.AppName}' ({app.AppId}) on {app.ServerUrl}";
}
