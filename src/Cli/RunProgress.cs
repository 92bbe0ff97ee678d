using Grpc.Core;
using Grpc.Net.Client;
using Modal.Api;
using Modal.Hosting;

namespace Modal.Cli;

/// <summary>A map (or any call of more than one input) of a followed app: inputs finished of sent, and its rate so far.</summary>
internal sealed record MapProgress(string CallId, string Function, int Done, int Total, bool InputsComplete, bool Finished, double? PerSecond, double Seconds);

/// <summary>A function's single-input calls (RemoteAsync, Spawn) of a followed app: how many run and how many finished.</summary>
internal sealed record SingleCallsProgress(string Function, int Running, int Done);

/// <summary>A function's containers starting and running, its backlog and the inputs it runs.</summary>
internal sealed record ContainerProgress(string Function, int Running, int Starting, long Backlog, long RunningInputs);

/// <summary>What one followed app is doing, as of the last poll.</summary>
internal sealed record AppProgressState(
    RunReport.Entry App, string State, IReadOnlyList<MapProgress> Maps, IReadOnlyList<SingleCallsProgress> SingleCalls,
    IReadOnlyList<ContainerProgress> Containers);

/// <summary>
/// Follows the apps a project run by <c>modal run</c> registers: it reads the run report file the project appends to
/// (<see cref="RunReport"/>) and polls <c>AppGetProgress</c> for each app on the control plane the app reported, keeping the
/// calls it has seen so that a call that finishes between two polls still shows its last count (each poll asks for the calls
/// finished since the previous answer's time, less a margin).
/// </summary>
internal sealed class RunProgress(string reportPath, Connection connection, ProgressView view) : IDisposable
{
    /// <summary>Calls that finished this long before the previous answer are asked for again: a commit racing the clock read is not missed.</summary>
    private const long OverlapMs = 5_000;

    private readonly Dictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly List<FollowedApp> _apps = [];
    private int _reportedLines;

    /// <summary>
    /// One poll: new apps from the report file, then each app's progress; the view gets the result. <paramref name="afterExit"/>:
    /// the project has exited, and a control plane it embedded went with it (its apps keep their last state).
    /// </summary>
    public async Task PollAsync(bool afterExit, CancellationToken cancellationToken)
    {
        ReadReport();
        if (_apps.Count == 0)
        {
            return;
        }
        var states = new List<AppProgressState>(_apps.Count);
        foreach (var app in _apps)
        {
            if (await app.PollAsync(view, afterExit, cancellationToken).ConfigureAwait(false) is { } state)
            {
                states.Add(state);
            }
        }
        view.Update(states);
    }

    private void ReadReport()
    {
        string text;
        try
        {
            text = File.Exists(reportPath) ? RunReport.Read(reportPath) : string.Empty;
        }
        catch (IOException)
        {
            return; // being written: read on the next poll
        }
        var entries = RunReport.Parse(text);
        for (int i = _reportedLines; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (_apps.Any(app => app.Entry.AppId == entry.AppId))
            {
                continue;
            }
            _apps.Add(new FollowedApp(entry, Client(entry)));
            view.AppFound(entry);
        }
        _reportedLines = entries.Count;
    }

    /// <summary>
    /// A client of the control plane the app reported (the first of its replicas), with the tool's token, or the one the app
    /// reported for a control plane it embeds.
    /// </summary>
    private ModalClient.ModalClientClient Client(RunReport.Entry entry)
    {
        string url = entry.ServerUrl.Split(',')[0].Trim() is { Length: > 0 } first ? first : connection.ServerUrl;
        if (!_channels.TryGetValue(url, out var channel))
        {
            _channels[url] = channel = GrpcChannel.ForAddress(url);
        }
        return (entry.Token is { } token ? connection with { TokenId = token.Id, TokenSecret = token.Secret } : connection).ClientOf(channel);
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }

    /// <summary>One app and the calls seen so far.</summary>
    private sealed class FollowedApp(RunReport.Entry entry, ModalClient.ModalClientClient client)
    {
        private readonly Dictionary<string, CallProgress> _maps = new(StringComparer.Ordinal);
        private readonly Dictionary<string, CallProgress> _singles = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _singlesDone = new(StringComparer.Ordinal);
        private long _lastNow;
        private bool _gone;
        private AppProgressState? _last;
        private string? _lastError;

        public RunReport.Entry Entry => entry;

        public async Task<AppProgressState?> PollAsync(ProgressView view, bool afterExit, CancellationToken cancellationToken)
        {
            if (_gone || (afterExit && entry.Token is not null))
            {
                return _last;
            }
            AppGetProgressResponse response;
            try
            {
                // An ephemeral app is this run's own: every call it ever had counts. A deployed app may have a history: from now on.
                long since = _lastNow > 0 ? Math.Max(1, _lastNow - OverlapMs) : entry.Kind == "deployed" ? 0 : 1;
                response = await client.AppGetProgressAsync(
                    new AppGetProgressRequest { AppId = entry.AppId, FinishedSinceUnixMs = since, MaxCalls = 1000 },
                    deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken).ConfigureAwait(false);
                _lastError = null;
            }
            catch (RpcException exception) when (exception.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
            {
                string message = exception.StatusCode is StatusCode.NotFound or StatusCode.PermissionDenied or StatusCode.Unimplemented
                    ? $"no progress for app '{entry.AppName}' ({entry.AppId}): {Detail(exception)}"
                    : $"progress of app '{entry.AppName}' ({entry.AppId}) unavailable for now: {Detail(exception)}";
                _gone = exception.StatusCode is StatusCode.NotFound or StatusCode.PermissionDenied or StatusCode.Unimplemented;
                if (message != _lastError)
                {
                    view.Warning(message);
                    _lastError = message;
                }
                return null;
            }
            _lastNow = response.NowUnixMs;
            foreach (var call in response.Calls)
            {
                if (call.InputCount > 1 || _maps.ContainsKey(call.FunctionCallId))
                {
                    _singles.Remove(call.FunctionCallId);
                    _maps[call.FunctionCallId] = call;
                }
                else
                {
                    // Kept while it runs and, once finished, for as long as polls can repeat it: counted once.
                    _singles[call.FunctionCallId] = call;
                }
            }
            // A finished single call can no longer come back once it ended before the overlap window: counted done and forgotten.
            foreach (var done in _singles.Values.Where(call => call.FinishedUnixMs > 0 && call.FinishedUnixMs < _lastNow - 2 * OverlapMs).ToList())
            {
                _singles.Remove(done.FunctionCallId);
                _singlesDone[done.FunctionName] = _singlesDone.GetValueOrDefault(done.FunctionName) + 1;
            }
            var maps = _maps.Values.OrderBy(call => call.CreatedUnixMs).ThenBy(call => call.FunctionCallId, StringComparer.Ordinal)
                .Select(call => ToMap(call, _lastNow)).ToList();
            var singles = _singles.Values.Select(call => call.FunctionName).Concat(_singlesDone.Keys).Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
                .Select(function => new SingleCallsProgress(function,
                    _singles.Values.Count(call => call.FunctionName == function && call.FinishedUnixMs == 0),
                    _singlesDone.GetValueOrDefault(function) + _singles.Values.Count(call => call.FunctionName == function && call.FinishedUnixMs > 0)))
                .ToList();
            var containers = response.Functions
                .Select(function => new ContainerProgress(function.FunctionName, function.RunningContainers, function.StartingContainers, function.Backlog,
                    function.RunningInputs))
                .ToList();
            return _last = new AppProgressState(entry, response.State, maps, singles, containers);
        }

        private static MapProgress ToMap(CallProgress call, long now)
        {
            long end = call.FinishedUnixMs > 0 ? call.FinishedUnixMs : now;
            double seconds = Math.Max(0, end - call.CreatedUnixMs) / 1000.0;
            return new MapProgress(call.FunctionCallId, call.FunctionName, call.FinishedInputs, call.InputCount, call.InputsComplete,
                call.FinishedUnixMs > 0, seconds >= 0.05 ? call.FinishedInputs / seconds : null, seconds);
        }

        private static string Detail(RpcException exception) =>
            exception.StatusCode == StatusCode.Unimplemented
                ? "the control plane predates AppGetProgress; update it to see progress."
                : $"{exception.StatusCode}: {exception.Status.Detail}";
    }
}
