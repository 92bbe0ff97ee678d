using Google.Protobuf;
using Modal.Api;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

internal sealed partial class Scheduler
{
    public async Task<AppCreateResponse> CreateAppAsync(AppCreateRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            throw Errors.Invalid("AppCreate needs an app name.");
        }
        var duplicate = request.Functions.GroupBy(f => f.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw Errors.Invalid($"App '{request.Name}' declares the function '{duplicate.Key}' more than once; names must be unique.");
        }
        if (request.Functions.FirstOrDefault(f => string.IsNullOrWhiteSpace(f.Name)) is not null)
        {
            throw Errors.Invalid($"App '{request.Name}' declares a function without a name.");
        }
        var response = new AppCreateResponse();
        var writes = new List<Task>();
        List<ContainerState> outdated = [];
        lock (_gate)
        {
            long now = NowMs;
            AppState? app = request.Kind == AppKind.Deployed
                ? _apps.Values.FirstOrDefault(a => a.Kind == AppKind.Deployed && !a.Stopped && a.Name == request.Name)
                : null;
            if (app is null)
            {
                app = new AppState(NewId("ap-"), request.Name, request.Kind, now);
                _apps[app.Id] = app;
            }
            else
            {
                // A redeploy: running workers hold the old code.
                outdated = app.Functions.Values.SelectMany(f => f.Containers).ToList();
            }
            app.Launch = request.Launch ?? new WorkerLaunchSpec();
            app.LastHeartbeatMs = now;
            writes.Add(_store.UpsertAppAsync(new AppRecord(app.Id, app.Name, (int)app.Kind, app.StateName, app.CreatedUnixMs,
                app.Launch.ToByteArray())));
            foreach (var spec in request.Functions)
            {
                if (!app.Functions.TryGetValue(spec.Name, out var function))
                {
                    function = new FunctionState(NewId("fu-"), app, spec);
                    app.Functions[spec.Name] = function;
                    _functions[function.Id] = function;
                }
                function.Spec = spec;
                response.FunctionIds[spec.Name] = function.Id;
                writes.Add(_store.UpsertFunctionAsync(new FunctionRecord(function.Id, app.Id, spec.Name, spec.ToByteArray(), function.WarmPool)));
            }
            foreach (var container in outdated)
            {
                StopContainer(container, kill: false, "the app was redeployed");
            }
            response.AppId = app.Id;
            Wake();
        }
        await Task.WhenAll(writes).ConfigureAwait(false);
        return response;
    }

    private AppState GetApp(string appId) =>
        _apps.TryGetValue(appId, out var app) ? app : throw Errors.NotFound($"App '{appId}' was not found.");

    public void HeartbeatApp(string appId)
    {
        lock (_gate)
        {
            var app = GetApp(appId);
            if (app.Stopped)
            {
                throw Errors.FailedPrecondition($"App '{app.Name}' ({appId}) was stopped; create a new app.");
            }
            app.LastHeartbeatMs = NowMs;
        }
    }

    public Task StopAppAsync(string appId, string reason)
    {
        lock (_gate)
        {
            var app = GetApp(appId);
            return StopApp(app, reason);
        }
    }

    /// <summary>Stops an app: its containers stop and its pending inputs end as Terminated. Caller holds the lock.</summary>
    private Task StopApp(AppState app, string reason)
    {
        if (app.Stopped)
        {
            return Task.CompletedTask;
        }
        app.Stopped = true;
        var stateWrite = _store.SetAppStateAsync(app.Id, app.StateName);
        foreach (var container in app.Functions.Values.SelectMany(f => f.Containers).ToList())
        {
            StopContainer(container, kill: true, reason);
        }
        foreach (var call in _calls.Values.Where(c => c.Function.App == app && c.Unfinished.Count > 0))
        {
            foreach (var input in call.Unfinished.Values.ToList())
            {
                Finish(input, Terminated());
            }
        }
        _logs.Complete(app.Id);
        return Task.WhenAll(stateWrite, Flush());
    }

    public AppListResponse ListApps()
    {
        lock (_gate)
        {
            var response = new AppListResponse();
            foreach (var app in _apps.Values.OrderBy(a => a.CreatedUnixMs))
            {
                response.Apps.Add(new AppInfo
                {
                    AppId = app.Id,
                    Name = app.Name,
                    Kind = app.Kind,
                    State = app.StateName,
                    CreatedUnixMs = app.CreatedUnixMs,
                    RunningContainers = app.Functions.Values.Sum(f => f.Containers.Count(c => !c.Exited && !c.Stopping)),
                });
            }
            return response;
        }
    }

    /// <summary>Whether the app is stopped (NOT_FOUND when unknown), for log subscriptions.</summary>
    public bool IsAppStopped(string appId)
    {
        lock (_gate)
        {
            return GetApp(appId).Stopped;
        }
    }

    public FunctionGetResponse GetFunctionByName(string appName, string functionName)
    {
        lock (_gate)
        {
            var app = _apps.Values.Where(a => a.Name == appName && !a.Stopped)
                .OrderByDescending(a => a.Kind == AppKind.Deployed)
                .ThenByDescending(a => a.CreatedUnixMs)
                .FirstOrDefault()
                ?? throw Errors.NotFound($"No running or deployed app is named '{appName}'. Deploy it first.");
            if (!app.Functions.TryGetValue(functionName, out var function))
            {
                string known = string.Join(", ", app.Functions.Keys.Order(StringComparer.Ordinal));
                throw Errors.NotFound($"App '{appName}' has no function '{functionName}'. Its functions: {known}.");
            }
            return new FunctionGetResponse { FunctionId = function.Id, Spec = function.Spec };
        }
    }

    /// <summary>The function's spec, for validating requests outside the lock.</summary>
    public FunctionSpec GetSpec(string functionId)
    {
        lock (_gate)
        {
            return GetFunction(functionId).Spec;
        }
    }

    public FunctionStatsResponse GetStats(string functionId)
    {
        lock (_gate)
        {
            var function = GetFunction(functionId);
            return new FunctionStatsResponse
            {
                Backlog = function.Backlog,
                NumTotalRunners = function.Containers.Count(c => !c.Exited && !c.Stopping),
            };
        }
    }

    public async Task UpdateKeepWarmAsync(string functionId, int warmPoolSize)
    {
        if (warmPoolSize < 0)
        {
            throw Errors.Invalid($"The warm pool size must be 0 or more, not {warmPoolSize}.");
        }
        Task write;
        lock (_gate)
        {
            var function = GetFunction(functionId);
            function.WarmPool = warmPoolSize;
            write = _store.SetWarmPoolAsync(functionId, warmPoolSize);
            Wake();
        }
        await write.ConfigureAwait(false);
    }
}
