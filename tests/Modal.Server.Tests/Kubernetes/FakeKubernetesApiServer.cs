using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Modal.Server.Tests.Kubernetes;

/// <summary>
/// A Kubernetes API server on 127.0.0.1 that answers the core/v1 pod and secret calls the launcher makes as a real one
/// does: create (201, or 409 for a name taken), read, list with an equality label selector, delete, merge-patch of a
/// Secret's owner references, and watches that stream newline-delimited <c>{"type","object"}</c> events from a resource
/// version. The test plays the kubelet (<see cref="SetPhase"/>) and injects refusals (<see cref="Refuse"/>). Every
/// request is recorded with its body as sent.
/// </summary>
public sealed class FakeKubernetesApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly Dictionary<string, V1Pod> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, V1Secret> _secrets = new(StringComparer.Ordinal);
    private readonly List<(long Version, string Type, V1Pod Pod)> _events = [];
    private readonly ConcurrentQueue<(string Method, string PathContains, int Status, string Message)> _refusals = new();
    private readonly CancellationTokenSource _stopping = new();
    private CancellationTokenSource _watchesEnd = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _version = 1000;
    private long _compactedBelow;

    private FakeKubernetesApiServer(WebApplication app) => _app = app;

    /// <summary>Every request: method, path with query, and body.</summary>
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>The API server's URL.</summary>
    public string Url { get; private set; } = "";

    private int _watchCount;

    /// <summary>How many watch requests have been answered; each counted one ends at the next <see cref="EndWatches"/>.</summary>
    public int WatchCount => Volatile.Read(ref _watchCount);

    /// <summary>Starts listening on a free loopback port.</summary>
    public static async Task<FakeKubernetesApiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeKubernetesApiServer(app);
        app.Run(async context =>
        {
            try
            {
                await server.HandleAsync(context);
            }
            catch (Exception exception) when (!context.Response.HasStarted)
            {
                // A bug of the fake itself: the launcher's error shows it.
                context.Response.StatusCode = 500;
                await context.Response.WriteAsync(exception.ToString());
            }
        });
        await app.StartAsync();
        server.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return server;
    }

    /// <summary>Writes a kubeconfig file that points at this server, with a token user and the given default namespace.</summary>
    public string WriteKubeconfig(string directory, string @namespace = "default")
    {
        string path = Path.Combine(directory, "kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {Url}
            users:
            - name: tester
              user:
                token: fake-bearer-token
            contexts:
            - name: fake
              context:
                cluster: fake
                user: tester
                namespace: {@namespace}
            current-context: fake
            """);
        return path;
    }

    /// <summary>The next request whose method is <paramref name="method"/> and path contains <paramref name="pathContains"/> gets this status.</summary>
    public void Refuse(string method, string pathContains, int status, string message) => _refusals.Enqueue((method, pathContains, status, message));

    /// <summary>How long the server waits, after creating a pod, before it answers (a slow or stuck API server).</summary>
    public TimeSpan PodCreationAnswerDelay { get; set; }

    /// <summary>The pods that exist now, by namespace/name.</summary>
    public IReadOnlyDictionary<string, V1Pod> Pods
    {
        get { lock (_gate) { return new Dictionary<string, V1Pod>(_pods); } }
    }

    /// <summary>The secrets that exist now, by namespace/name.</summary>
    public IReadOnlyDictionary<string, V1Secret> Secrets
    {
        get { lock (_gate) { return new Dictionary<string, V1Secret>(_secrets); } }
    }

    /// <summary>Plays the kubelet: sets a pod's phase and its worker container's state, and sends a MODIFIED event.</summary>
    public void SetPhase(string @namespace, string name, string phase, string? reason = null, string? message = null,
        int? exitCode = null, string? containerReason = null, string? waitingReason = null, string? containerMessage = null)
    {
        lock (_gate)
        {
            var pod = _pods[@namespace + "/" + name];
            var state = new V1ContainerState();
            if (exitCode is { } code)
            {
                state.Terminated = new V1ContainerStateTerminated { ExitCode = code, Reason = containerReason, Message = containerMessage };
            }
            else if (waitingReason is not null)
            {
                state.Waiting = new V1ContainerStateWaiting { Reason = waitingReason, Message = message };
            }
            else if (phase == "Running")
            {
                state.Running = new V1ContainerStateRunning { StartedAt = DateTime.UtcNow };
            }
            pod.Status = new V1PodStatus
            {
                Phase = phase,
                Reason = reason,
                Message = waitingReason is null ? message : null,
                ContainerStatuses = [new V1ContainerStatus { Name = "worker", Image = pod.Spec.Containers[0].Image, ImageID = "", Ready = phase == "Running", RestartCount = 0, State = state }],
            };
            Publish("MODIFIED", pod);
        }
    }

    /// <summary>Deletes a pod as another client (kubectl, an eviction) would.</summary>
    public void DeleteFromOutside(string @namespace, string name)
    {
        lock (_gate)
        {
            if (_pods.Remove(@namespace + "/" + name, out var pod))
            {
                Publish("DELETED", pod);
            }
        }
    }

    /// <summary>Ends every open watch, as an API server does at its timeout or restart.</summary>
    public void EndWatches()
    {
        lock (_gate)
        {
            _watchesEnd.Cancel();
            _watchesEnd = new CancellationTokenSource();
        }
    }

    /// <summary>
    /// As after writes elsewhere in the cluster and a compaction: the resource version moves on and the history before it
    /// is gone, so that a watch from an older version gets an ERROR event with a 410 Status.
    /// </summary>
    public void CompactHistory()
    {
        lock (_gate)
        {
            _events.Clear();
            _version += 10;
            _compactedBelow = _version;
        }
    }

    private void Publish(string type, V1Pod pod)
    {
        long version = ++_version;
        pod.Metadata.ResourceVersion = version.ToString(CultureInfo.InvariantCulture);
        _events.Add((version, type, Clone(pod)));
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        string body = await new StreamReader(request.Body, Encoding.UTF8).ReadToEndAsync();
        string path = request.Path.Value ?? "";
        Requests.Enqueue(new RecordedRequest(request.Method, path + request.QueryString.Value, body, request.Headers.Authorization.ToString()));
        foreach (var refusal in _refusals)
        {
            if (refusal.Method == request.Method && path.Contains(refusal.PathContains, StringComparison.Ordinal))
            {
                // Only the first match, once.
                var remaining = _refusals.ToList();
                remaining.Remove(refusal);
                _refusals.Clear();
                remaining.ForEach(_refusals.Enqueue);
                await StatusAsync(context, refusal.Status, refusal.Message);
                return;
            }
        }
        string[] parts = path.Trim('/').Split('/');
        // api/v1/namespaces/{ns}/{resource}[/{name}]
        if (parts.Length < 5 || parts[0] != "api" || parts[1] != "v1" || parts[2] != "namespaces")
        {
            await StatusAsync(context, 404, $"the fake API server does not serve {path}");
            return;
        }
        string ns = parts[3], resource = parts[4];
        string? name = parts.Length > 5 ? parts[5] : null;
        switch (resource, request.Method, name)
        {
            case ("pods", "POST", null):
                await CreateAsync(context, ns, KubernetesJson.Deserialize<V1Pod>(body), _pods, pod =>
                {
                    pod.Status = new V1PodStatus { Phase = "Pending" };
                    Publish("ADDED", pod);
                }, PodCreationAnswerDelay);
                break;
            case ("secrets", "POST", null):
                await CreateAsync(context, ns, KubernetesJson.Deserialize<V1Secret>(body), _secrets, _ => { }, TimeSpan.Zero);
                break;
            case ("pods", "GET", null) when request.Query["watch"] == "true":
                await WatchAsync(context, ns, request.Query["labelSelector"].ToString(), request.Query["resourceVersion"].ToString());
                break;
            case ("pods", "GET", null):
                V1PodList list;
                lock (_gate)
                {
                    list = new V1PodList
                    {
                        ApiVersion = "v1", Kind = "PodList",
                        Metadata = new V1ListMeta { ResourceVersion = _version.ToString(CultureInfo.InvariantCulture) },
                        Items = [.. _pods.Values.Where(p => p.Metadata.NamespaceProperty == ns && Matches(p, request.Query["labelSelector"].ToString())).Select(Clone)],
                    };
                }
                await JsonAsync(context, 200, list);
                break;
            case ("pods", "GET", { } podName):
                await ReadAsync(context, ns, podName, _pods);
                break;
            case ("pods", "DELETE", { } podName):
                V1Pod? deleted;
                lock (_gate)
                {
                    if (_pods.Remove(ns + "/" + podName, out deleted))
                    {
                        Publish("DELETED", deleted);
                    }
                }
                await (deleted is null ? StatusAsync(context, 404, $"pods \"{podName}\" not found") : JsonAsync(context, 200, deleted));
                break;
            case ("secrets", "DELETE", { } secretName):
                V1Secret? removed;
                lock (_gate)
                {
                    _secrets.Remove(ns + "/" + secretName, out removed);
                }
                await (removed is null ? StatusAsync(context, 404, $"secrets \"{secretName}\" not found") : JsonAsync(context, 200, removed));
                break;
            case ("secrets", "PATCH", { } secretName):
                V1Secret? patched;
                lock (_gate)
                {
                    if (_secrets.TryGetValue(ns + "/" + secretName, out patched))
                    {
                        var patch = KubernetesJson.Deserialize<V1Secret>(body);
                        patched.Metadata.OwnerReferences = patch.Metadata?.OwnerReferences ?? patched.Metadata.OwnerReferences;
                    }
                }
                await (patched is null ? StatusAsync(context, 404, $"secrets \"{secretName}\" not found") : JsonAsync(context, 200, patched));
                break;
            default:
                await StatusAsync(context, 405, $"the fake API server does not serve {request.Method} {path}");
                break;
        }
    }

    private async Task CreateAsync<T>(HttpContext context, string ns, T item, Dictionary<string, T> store, Action<T> created, TimeSpan answerDelay)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        string kind = typeof(T) == typeof(V1Pod) ? "pods" : "secrets";
        string name = item.Metadata.Name;
        lock (_gate)
        {
            string key = ns + "/" + item.Metadata.Name;
            if (!store.ContainsKey(key))
            {
                item.Metadata.NamespaceProperty = ns;
                item.Metadata.Uid = Guid.NewGuid().ToString();
                item.Metadata.CreationTimestamp = DateTime.UtcNow;
                item.Metadata.ResourceVersion = (++_version).ToString(CultureInfo.InvariantCulture);
                store[key] = item;
                created(item);
                item = Clone(item);
            }
            else
            {
                item = default!;
            }
        }
        if (item is null)
        {
            await StatusAsync(context, 409, $"{kind} \"{name}\" already exists", "AlreadyExists");
            return;
        }
        if (answerDelay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(answerDelay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        await JsonAsync(context, 201, item);
    }

    private async Task ReadAsync<T>(HttpContext context, string ns, string name, Dictionary<string, T> store)
        where T : class
    {
        T? item;
        lock (_gate)
        {
            store.TryGetValue(ns + "/" + name, out item);
            item = item is null ? null : Clone(item);
        }
        await (item is null ? StatusAsync(context, 404, $"\"{name}\" not found", "NotFound") : JsonAsync(context, 200, item));
    }

    private async Task WatchAsync(HttpContext context, string ns, string selector, string resourceVersion)
    {
        long from = long.TryParse(resourceVersion, CultureInfo.InvariantCulture, out long parsed) ? parsed : 0;
        CancellationToken ends;
        lock (_gate)
        {
            ends = _watchesEnd.Token;
            _watchCount++;
            if (from > 0 && from < _compactedBelow)
            {
                from = -1;
            }
        }
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        if (from < 0)
        {
            // As a real API server does when the version was compacted away: 200, then one ERROR event with a 410 Status.
            await context.Response.WriteAsync($"{{\"type\":\"ERROR\",\"object\":{Status(410, "too old resource version: " + from, "Expired")}}}\n");
            return;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, ends, _stopping.Token);
        long sent = from;
        try
        {
            await context.Response.Body.FlushAsync(stop.Token);
            while (!stop.IsCancellationRequested)
            {
                Task changed;
                List<(long Version, string Type, V1Pod Pod)> pending;
                lock (_gate)
                {
                    changed = _changed.Task;
                    pending = [.. _events.Where(e => e.Version > sent && e.Pod.Metadata.NamespaceProperty == ns && Matches(e.Pod, selector))];
                    sent = Math.Max(sent, _events.Count > 0 ? _events[^1].Version : sent);
                }
                foreach (var (_, type, pod) in pending)
                {
                    await context.Response.WriteAsync($"{{\"type\":\"{type}\",\"object\":{KubernetesJson.Serialize(pod)}}}\n", stop.Token);
                }
                await context.Response.Body.FlushAsync(stop.Token);
                await changed.WaitAsync(stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The watch ended: the client went away, the test ended watches, or the server stops.
        }
    }

    private static bool Matches(V1Pod pod, string selector) =>
        selector.Split(',', StringSplitOptions.RemoveEmptyEntries).All(term =>
        {
            var pair = term.Split('=', 2);
            return pod.Metadata.Labels?.TryGetValue(pair[0], out var value) == true && value == pair[1];
        });

    private static T Clone<T>(T item) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(item));

    private static async Task JsonAsync(HttpContext context, int status, object body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(KubernetesJson.Serialize(body));
    }

    private static async Task StatusAsync(HttpContext context, int code, string message, string? reason = null)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(Status(code, message, reason));
    }

    /// <summary>A Status object as the API server sends it (the library reads these but cannot write them).</summary>
    private static string Status(int code, string message, string? reason = null) => JsonSerializer.Serialize(new
    {
        kind = "Status",
        apiVersion = "v1",
        metadata = new { },
        status = "Failure",
        message,
        reason = reason ?? (code switch { 403 => "Forbidden", 404 => "NotFound", 409 => "AlreadyExists", 410 => "Expired", _ => "InternalError" }),
        code,
    });

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}

/// <summary>A request the fake API server received.</summary>
public sealed record RecordedRequest(string Method, string PathAndQuery, string Body, string Authorization);
