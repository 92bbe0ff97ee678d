using k8s.Models;

namespace Modal.Server.Launching;

/// <summary>
/// One worker's pod, as <see cref="KubernetesPodWatch"/> reports it: a pod that ends (phase <c>Failed</c> or
/// <c>Succeeded</c>) or is deleted completes <see cref="Exited"/> as a process exit would, after writing the reason as a
/// stderr line of the worker (the control plane puts its last stderr line into the container's end reason).
/// </summary>
internal sealed class KubernetesPodHandle : IContainerHandle
{
    /// <summary>The exit code of a worker killed from outside (SIGKILL's 128 + 9): a stop, a deletion, an eviction.</summary>
    public const int KilledExitCode = 137;

    // Kubelet reasons for a pod that fails without its container's own exit code: all are the cluster's doing.
    private static readonly HashSet<string> s_killedReasons = new(StringComparer.Ordinal)
    {
        "Evicted", "Preempting", "Shutdown", "NodeShutdown", "NodeLost", "Terminated", "DeadlineExceeded", "UnexpectedAdmissionError",
    };

    // Waiting reasons that no retry of the kubelet will fix: the worker fails to start at once, rather than at its deadline.
    private static readonly HashSet<string> s_fatalWaitingReasons = new(StringComparer.Ordinal) { "InvalidImageName" };

    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<KubernetesPodHandle, Task> _delete;
    private readonly Action<string, bool> _output;
    private readonly object _gate = new();
    private Task? _stopping;
    private string? _lastWaiting;

    public KubernetesPodHandle(string podName, string secretName, Action<string, bool> output, Func<KubernetesPodHandle, Task> delete)
    {
        PodName = podName;
        SecretName = secretName;
        _output = output;
        _delete = delete;
    }

    /// <summary>The pod's name.</summary>
    public string PodName { get; }

    /// <summary>The name of the Secret holding the worker's token.</summary>
    public string SecretName { get; }

    /// <summary>The pod's uid once the API server created it.</summary>
    public string? Uid { get; private set; }

    /// <summary>Whether the API server has created the pod (before that, a pod missing from a list is not yet gone).</summary>
    public bool IsCreated => Uid is not null;

    /// <summary>Why the worker ended, once it has.</summary>
    public string? ExitReason { get; private set; }

    /// <inheritdoc/>
    public int? ProcessId => null;

    /// <inheritdoc/>
    public Task<int> Exited => _exited.Task;

    /// <summary>Writes a line to the worker's stderr (the app's logs).</summary>
    public void Report(string line) => _output(line, true);

    /// <summary>Records the pod the API server returned from its creation.</summary>
    public void Created(V1Pod pod)
    {
        Uid = pod.Metadata?.Uid ?? "";
        Observe(pod);
    }

    /// <summary>Applies a pod's state from a watch event or a list.</summary>
    public void Observe(V1Pod pod)
    {
        var status = pod.Status;
        switch (status?.Phase)
        {
            case "Succeeded":
            case "Failed":
                var terminated = Worker(pod)?.State?.Terminated;
                int code = terminated?.ExitCode
                    ?? (status.Phase == "Succeeded" ? 0 : status.Reason is { } reason && s_killedReasons.Contains(reason) ? KilledExitCode : 1);
                Exit(code, $"pod {PodName} {status.Phase}" + Describe(status, terminated));
                break;
            default:
                if (Worker(pod)?.State?.Waiting is { Reason: { Length: > 0 } waiting } state && waiting is not "ContainerCreating" and not "PodInitializing")
                {
                    if (s_fatalWaitingReasons.Contains(waiting))
                    {
                        Exit(1, $"pod {PodName} cannot start: {waiting}" + (state.Message is { Length: > 0 } m ? $" ({m})" : ""));
                    }
                    else if (waiting != Interlocked.Exchange(ref _lastWaiting, waiting))
                    {
                        // ErrImagePull, ImagePullBackOff, CreateContainerConfigError: the kubelet retries until the startup
                        // deadline; the line tells the app's logs (and the end reason) what the pod is waiting for.
                        _output($"pod {PodName} is waiting: {waiting}" + (state.Message is { Length: > 0 } message ? $" ({message})" : ""), true);
                    }
                }
                break;
        }
    }

    /// <summary>The pod is gone (a watch's DELETED event, or a resync that no longer finds it).</summary>
    public void Deleted(V1Pod? pod)
    {
        if (pod?.Status?.Phase is "Succeeded" or "Failed")
        {
            Observe(pod);
            return;
        }
        Exit(KilledExitCode, $"pod {PodName} was deleted" + (pod?.Status is { } status ? Describe(status, Worker(pod)?.State?.Terminated) : ""));
    }

    /// <summary>Deletes the pod and its Secret (once, however often it is called); the worker then counts as killed.</summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            return _stopping ??= StopCoreAsync();
        }
    }

    private async Task StopCoreAsync()
    {
        await _delete(this).ConfigureAwait(false);
        Exit(KilledExitCode, $"pod {PodName} was stopped");
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private void Exit(int code, string reason)
    {
        lock (_gate)
        {
            if (_exited.Task.IsCompleted)
            {
                return;
            }
            ExitReason = reason;
            _output(reason, true);
            _exited.TrySetResult(code);
        }
    }

    private static V1ContainerStatus? Worker(V1Pod pod) =>
        pod.Status?.ContainerStatuses?.FirstOrDefault(container => container.Name == KubernetesWorkerPod.ContainerName);

    private static string Describe(V1PodStatus status, V1ContainerStateTerminated? terminated)
    {
        string text = (status.Reason is { Length: > 0 } reason ? $": {reason}" : "") + (status.Message is { Length: > 0 } message ? $" ({message})" : "");
        if (terminated is not null)
        {
            text += $"; its worker container exited with code {terminated.ExitCode}"
                + (terminated.Reason is { Length: > 0 } containerReason ? $" ({containerReason}" + (terminated.Message is { Length: > 0 } m ? $": {m})" : ")") : "");
        }
        return text;
    }
}
