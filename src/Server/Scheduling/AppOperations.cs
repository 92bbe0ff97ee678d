using Google.Protobuf;
using Modal.Api;
using Modal.Server.Core;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

/// <summary>Apps and functions: create (with every spec field validated), heartbeat, stop, list, look up, stats, keep warm.</summary>
internal sealed class AppOperations(IControlStore store, ContainerControl containers, LogHub logs, Security.LaunchPolicy launchPolicy, Placement placement)
{
    /// <summary>How long a function's row and spec are reused before they are read again (a redeploy's new version reaches calls by name after this).</summary>
    private const long SpecCacheMs = 1_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, RecentFunction> _specs = new(StringComparer.Ordinal);

    /// <summary>A function as read from the store, its spec parsed, and when it was read.</summary>
    private sealed record RecentFunction(FunctionRow Row, FunctionSpec Spec, long LoadedTick);

    /// <summary>Specs held in the cache.</summary>
    public int CachedSpecs => _specs.Count;

    /// <summary>The function's spec for validating a call's arguments; read from the store at most once a second.</summary>
    public async Task<FunctionSpec> GetSpecAsync(string functionId) => (await GetRecentAsync(functionId).ConfigureAwait(false)).Spec;

    /// <summary>
    /// The function's row, read from the store at most once a second: for a request's access check, which needs only
    /// what never changes for a function id (its app's id and name, its name). <see cref="FunctionRow.AppStopped"/> may
    /// be a second old; the store checks it again when it enqueues.
    /// </summary>
    public async Task<FunctionRow> GetRecentFunctionAsync(string functionId) => (await GetRecentAsync(functionId).ConfigureAwait(false)).Row;

    private async Task<RecentFunction> GetRecentAsync(string functionId)
    {
        long now = Environment.TickCount64;
        if (_specs.TryGetValue(functionId, out var cached) && now - cached.LoadedTick < SpecCacheMs)
        {
            return cached;
        }
        var row = await GetFunctionAsync(functionId).ConfigureAwait(false);
        var recent = new RecentFunction(row, FunctionSpec.Parser.ParseFrom(row.Spec), now);
        _specs[functionId] = recent;
        return recent;
    }

    /// <summary>Drops functions past their second (called by the duty loop), so that the cache holds only functions in use.</summary>
    public void EvictExpiredSpecs()
    {
        long now = Environment.TickCount64;
        foreach (var (functionId, cached) in _specs)
        {
            if (now - cached.LoadedTick >= SpecCacheMs)
            {
                _specs.TryRemove(new KeyValuePair<string, RecentFunction>(functionId, cached));
            }
        }
    }

    private void ForgetFunctionsOf(string appId)
    {
        foreach (var (functionId, cached) in _specs)
        {
            if (cached.Row.AppId == appId)
            {
                _specs.TryRemove(new KeyValuePair<string, RecentFunction>(functionId, cached));
            }
        }
    }

    /// <summary>
    /// Creates an app (or a deployed app's next version). With an idempotency key (scoped by <paramref name="keyScope"/>,
    /// the caller) that a committed request used, returns what that request made, without resolving the launch again (no
    /// second image build), and only for the same app name.
    /// </summary>
    public async Task<AppCreateResponse> CreateAppAsync(AppCreateRequest request, string keyScope)
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
        foreach (var spec in request.Functions)
        {
            FunctionSpecValidator.Validate(request.Name, spec);
        }
        string? key = string.IsNullOrEmpty(request.IdempotencyKey) ? null : "app:" + keyScope + ":" + request.IdempotencyKey;
        var replayedId = key is null ? null : await store.FindRequestKeyAsync(key).ConfigureAwait(false);
        var replayed = replayedId is null ? null : await store.GetAppAsync(replayedId).ConfigureAwait(false);
        if (replayed is not null && replayed.Name != request.Name)
        {
            throw Errors.Invalid($"AppCreate: idempotency_key '{request.IdempotencyKey}' was used for app '{replayed.Name}', not '{request.Name}'; " +
                "make a new key for each app created.");
        }
        // A replay makes nothing: the store returns the first request's app before it reads the launch (the image reported is
        // the app's newest, the replayed one unless another deploy came within the key's hour).
        var launch = replayed is null ? await launchPolicy.ResolveAsync(request).ConfigureAwait(false) : WorkerLaunchSpec.Parser.ParseFrom(replayed.Launch);
        if (replayed is null && launch.LaunchesWorkers())
        {
            foreach (var spec in request.Functions)
            {
                placement.CheckPlaceable(request.Name, spec);
            }
        }
        // A redeploy is a new version with function ids of its own; the previous version's containers finish the calls bound
        // to it and the autoscaler stops them once idle (FunctionLoad.Superseded).
        var created = await store.CreateAppAsync(
            new NewApp(Ids.New("ap-"), request.Name, (int)request.Kind, launch.ToByteArray(), launch.ArtifactDigest, key),
            request.Functions.Select(f => new NewFunction(Ids.New("fu-"), f.Name, f.ToByteArray())).ToList()).ConfigureAwait(false);
        if (created.Version > 1)
        {
            // Calls by name on this replica move to the new version at once (other replicas within SpecCacheMs).
            ForgetFunctionsOf(created.AppId);
        }
        containers.Nudge();
        var response = new AppCreateResponse { AppId = created.AppId, Version = created.Version, Image = launch.Image };
        foreach (var (name, id) in created.FunctionIds)
        {
            response.FunctionIds[name] = id;
        }
        return response;
    }

    public async Task HeartbeatAsync(string appId)
    {
        if (!await store.HeartbeatAppAsync(appId).ConfigureAwait(false))
        {
            var app = await store.GetAppAsync(appId).ConfigureAwait(false) ?? throw Errors.NotFound($"App '{appId}' was not found.");
            throw Errors.FailedPrecondition($"App '{app.Name}' ({appId}) was stopped; create a new app.");
        }
    }

    public async Task StopAsync(string appId)
    {
        _ = await store.StopAppAsync(appId).ConfigureAwait(false) ?? throw Errors.NotFound($"App '{appId}' was not found.");
        logs.Complete(appId);
        containers.Nudge();
    }

    public async Task<AppListResponse> ListAsync()
    {
        var response = new AppListResponse();
        foreach (var app in await store.ListAppsAsync(includeStopped: true).ConfigureAwait(false))
        {
            response.Apps.Add(new AppInfo
            {
                AppId = app.Id, Name = app.Name, Kind = (AppKind)app.Kind, State = app.State, CreatedUnixMs = app.CreatedUnixMs,
                RunningContainers = app.LiveContainers, Version = app.Version, ArtifactDigest = app.ArtifactDigest,
            });
        }
        return response;
    }

    /// <summary>The functions of the apps that are not stopped, of <paramref name="appName"/> alone when it is set.</summary>
    public async Task<FunctionListResponse> ListFunctionsAsync(string appName)
    {
        var response = new FunctionListResponse();
        foreach (var function in await store.ListNewestFunctionsAsync(appName.Length == 0 ? null : appName).ConfigureAwait(false))
        {
            response.Functions.Add(new FunctionInfo
            {
                FunctionId = function.Id, AppId = function.AppId, AppName = function.AppName, Name = function.Name,
                Kind = FunctionSpec.Parser.ParseFrom(function.Spec).Kind,
            });
        }
        return response;
    }

    /// <summary>Whether the app is stopped (NOT_FOUND when unknown), for log subscriptions.</summary>
    public async Task<bool> IsStoppedAsync(string appId) =>
        (await store.GetAppAsync(appId).ConfigureAwait(false) ?? throw Errors.NotFound($"App '{appId}' was not found.")).State == "stopped";

    /// <summary>The function of that name in the app's newest version, or in <paramref name="version"/> when it is above 0.</summary>
    public async Task<FunctionGetResponse> GetFunctionByNameAsync(string appName, string functionName, int version)
    {
        int? pinned = version > 0 ? version : null;
        var function = await store.FindFunctionAsync(appName, functionName, pinned).ConfigureAwait(false);
        if (function is not null)
        {
            return new FunctionGetResponse { FunctionId = function.Id, Spec = FunctionSpec.Parser.ParseFrom(function.Spec), Version = function.Version };
        }
        if (pinned is { } wanted)
        {
            var versions = await store.ListVersionsAsync(appName).ConfigureAwait(false);
            if (versions.All(v => v.Version != wanted))
            {
                throw Errors.NotFound(versions.Count == 0
                    ? $"App '{appName}' has no version {wanted} of function '{functionName}': no deployed app is named '{appName}'. Deploy it first."
                    : $"App '{appName}' has no version {wanted} of function '{functionName}'. Its versions: " +
                      $"{string.Join(", ", versions.Select(v => v.Version))}. Pin one of them, or give no version for the newest.");
            }
        }
        var names = await store.FunctionNamesAsync(appName, pinned).ConfigureAwait(false);
        string which = pinned is { } number ? $"Version {number} of app '{appName}'" : $"App '{appName}'";
        throw names.Count == 0 && pinned is null
            ? Errors.NotFound($"No running or deployed app is named '{appName}'. Deploy it first.")
            : Errors.NotFound($"{which} has no function '{functionName}'. Its functions: {string.Join(", ", names)}.");
    }

    /// <summary>
    /// For a call made by name without a version: the newest version's function of the same name when the app has been
    /// deployed again since <paramref name="function"/> was looked up; else <paramref name="function"/> itself.
    /// </summary>
    public async Task<FunctionRow> NewestVersionOfAsync(FunctionRow function)
    {
        if (!function.Superseded)
        {
            return function;
        }
        var newest = await store.FindFunctionAsync(function.AppName, function.Name).ConfigureAwait(false);
        // The new version may not declare the function any more: the call then stays on the version it was looked up in.
        return newest is not null && newest.AppId == function.AppId ? newest : function;
    }

    public async Task<FunctionRow> GetFunctionAsync(string functionId) =>
        await store.GetFunctionAsync(functionId).ConfigureAwait(false) ?? throw FunctionNotFound(functionId);

    private static Grpc.Core.RpcException FunctionNotFound(string functionId) =>
        Errors.NotFound($"Function '{functionId}' was not found. Look functions up with FunctionGet or create them with AppCreate.");

    public async Task<FunctionStatsResponse> GetStatsAsync(string functionId)
    {
        var stats = await store.ReadFunctionStatsAsync(functionId).ConfigureAwait(false)
            ?? throw FunctionNotFound(functionId);
        return new FunctionStatsResponse { Backlog = (int)Math.Min(int.MaxValue, stats.Ready), NumTotalRunners = stats.LiveContainers };
    }

    public async Task UpdateKeepWarmAsync(string functionId, int warmPoolSize)
    {
        if (warmPoolSize < 0 || warmPoolSize > FunctionSpecValidator.MaxContainersLimit)
        {
            throw Errors.Invalid($"The warm pool size must be between 0 and {FunctionSpecValidator.MaxContainersLimit}, not {warmPoolSize}.");
        }
        if (!await store.SetWarmPoolAsync(functionId, warmPoolSize).ConfigureAwait(false))
        {
            throw Errors.NotFound($"Function '{functionId}' was not found.");
        }
        containers.Nudge();
    }

    /// <summary>Lays the request's settings over the function's autoscaler (each in range; the minimum not above the maximum).</summary>
    public async Task<FunctionUpdateAutoscalerResponse> UpdateAutoscalerAsync(FunctionRow function, FunctionUpdateAutoscalerRequest request)
    {
        const string Rpc = "FunctionUpdateAutoscaler";
        int? Field(bool has, int value, string field, int min, int max)
        {
            if (!has)
            {
                return null;
            }
            RequestLimits.Range(value, min, max, field, Rpc);
            return value;
        }
        var update = new AutoscalerOverride(
            Field(request.HasMinContainers, request.MinContainers, "min_containers", 0, FunctionSpecValidator.MaxContainersLimit),
            Field(request.HasMaxContainers, request.MaxContainers, "max_containers", 1, FunctionSpecValidator.MaxContainersLimit),
            Field(request.HasBufferContainers, request.BufferContainers, "buffer_containers", 0, FunctionSpecValidator.MaxContainersLimit),
            Field(request.HasScaledownWindowSeconds, request.ScaledownWindowSeconds, "scaledown_window_seconds", 1, FunctionSpecValidator.MaxTimeoutSeconds));
        var settings = await store.UpdateAutoscalerAsync(function.Id, update).ConfigureAwait(false) ?? throw FunctionNotFound(function.Id);
        containers.Nudge();
        var effective = settings.ApplyTo(FunctionSpec.Parser.ParseFrom(function.Spec));
        return new FunctionUpdateAutoscalerResponse
        {
            MinContainers = effective.MinContainers, MaxContainers = effective.MaxContainers, BufferContainers = effective.BufferContainers,
            ScaledownWindowSeconds = (int)FunctionLimits.ScaledownWindow(effective).TotalSeconds,
        };
    }
}
