using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Modal.Server.Launching;

/// <summary>
/// One list-and-watch of this launcher's pods (by label) for all its workers, rather than a watch per pod: each event goes
/// to the handle of its pod. A watch that ends is resumed from the last resource version; one that expired (410), or
/// failed, is replaced by a fresh list, which also settles the tracked pods that vanished meanwhile.
/// </summary>
internal sealed class KubernetesPodWatch(IKubernetes client, string @namespace, ILogger logger) : IAsyncDisposable
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, KubernetesPodHandle> _pods = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private Task? _loop;

    /// <summary>Starts reporting the pod's events to the handle (before the pod is created, so that none is missed).</summary>
    /// <exception cref="InvalidOperationException">This launcher already runs a pod of that name (a container id launched twice).</exception>
    public void Track(KubernetesPodHandle handle)
    {
        if (!_pods.TryAdd(handle.PodName, handle))
        {
            throw new InvalidOperationException($"Pod {handle.PodName} already runs a worker of this launcher; a container id is launched once.");
        }
        lock (_gate)
        {
            if (_loop is null && !_stop.IsCancellationRequested)
            {
                _loop = Task.Run(() => RunAsync(_stop.Token));
            }
        }
    }

    /// <summary>Stops reporting to the handle.</summary>
    public void Forget(KubernetesPodHandle handle) => _pods.TryRemove(KeyValuePair.Create(handle.PodName, handle));

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        string? resourceVersion = null;
        int failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                resourceVersion ??= await ResyncAsync(cancellationToken).ConfigureAwait(false);
                bool expired = false;
                int events = 0;
                var watch = client.CoreV1.WatchListNamespacedPodAsync(@namespace, allowWatchBookmarks: true,
                    labelSelector: KubernetesWorkerPod.Selector, resourceVersion: resourceVersion, timeoutSeconds: 300,
                    onError: exception =>
                    {
                        // An ERROR event: 410 Gone means the resource version is too old to resume from.
                        expired |= exception is KubernetesException { Status.Code: (int)HttpStatusCode.Gone };
                        logger.LogDebug(exception, "The watch of pods in namespace {Namespace} reported an error", @namespace);
                    },
                    cancellationToken: cancellationToken);
                await foreach (var (type, pod) in watch.ConfigureAwait(false))
                {
                    events++;
                    failures = 0;
                    if (pod?.Metadata?.ResourceVersion is { Length: > 0 } version)
                    {
                        resourceVersion = version;
                    }
                    if (type is WatchEventType.Bookmark or WatchEventType.Error || pod?.Metadata?.Name is not { } name
                        || !_pods.TryGetValue(name, out var handle))
                    {
                        continue;
                    }
                    if (type == WatchEventType.Deleted)
                    {
                        handle.Deleted(pod);
                    }
                    else
                    {
                        handle.Observe(pod);
                    }
                }
                if (expired)
                {
                    resourceVersion = null;
                }
                if (events == 0)
                {
                    // A server that ends watches at once must not be asked again in a tight loop.
                    await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                failures++;
                resourceVersion = null;
                var delay = TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, 100 * Math.Pow(2, Math.Min(failures, 10))));
                logger.Log(failures > 3 ? LogLevel.Warning : LogLevel.Debug, exception,
                    "Watching the worker pods in namespace {Namespace} failed ({Failures} in a row); retrying in {Delay} ms: {Message}",
                    @namespace, failures, (int)delay.TotalMilliseconds, exception.Message);
                try
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Lists the pods, applies their state to the tracked handles, and returns the list's resource version.</summary>
    private async Task<string?> ResyncAsync(CancellationToken cancellationToken)
    {
        var list = await client.CoreV1.ListNamespacedPodAsync(@namespace, labelSelector: KubernetesWorkerPod.Selector,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        var listed = new Dictionary<string, V1Pod>(StringComparer.Ordinal);
        foreach (var pod in list.Items ?? [])
        {
            if (pod.Metadata?.Name is { } name)
            {
                listed[name] = pod;
            }
        }
        foreach (var handle in _pods.Values)
        {
            if (listed.TryGetValue(handle.PodName, out var pod))
            {
                handle.Observe(pod);
            }
            else if (handle.IsCreated)
            {
                // The list may predate the creation: only the pod itself tells whether it is gone.
                try
                {
                    handle.Observe(await client.CoreV1.ReadNamespacedPodAsync(handle.PodName, @namespace, cancellationToken: cancellationToken)
                        .ConfigureAwait(false));
                }
                catch (HttpOperationException exception) when (exception.Response?.StatusCode == HttpStatusCode.NotFound)
                {
                    handle.Deleted(null);
                }
            }
        }
        return list.Metadata?.ResourceVersion;
    }

    /// <summary>Ends the watch.</summary>
    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_gate)
        {
            _stop.Cancel();
            loop = _loop;
        }
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }
        _stop.Dispose();
    }
}
