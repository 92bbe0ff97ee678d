using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Modal.Server.Launching;

/// <summary>
/// Runs each worker as a Kubernetes pod from its app's deployed image: resource requests and limits from the
/// function's <c>Cpu</c>, <c>MemoryMb</c> and <c>Gpu</c>, labels naming the app, function and container, the worker
/// environment with the control plane's URL, and the worker's token in a Secret of its own that the pod reads through
/// <c>secretKeyRef</c>. One watch of the launcher's pods reports a pod that fails, succeeds or is deleted as the worker's
/// exit, with the reason; stopping a worker deletes its pod and Secret. Tested against a simulated API server only.
/// </summary>
public sealed class KubernetesLauncher : IContainerLauncher, IAsyncDisposable
{
    private readonly KubernetesLauncherOptions _options;
    private readonly Kubernetes _client;
    private readonly KubernetesPodWatch _watch;
    private readonly ILogger _logger;

    /// <summary>Connects with the kubeconfig file or in-cluster service account that <paramref name="options"/> name.</summary>
    /// <exception cref="InvalidOperationException">The kubeconfig cannot be read, or this is not a pod (in cluster).</exception>
    public KubernetesLauncher(KubernetesLauncherOptions options, ILogger<KubernetesLauncher>? logger = null)
        : this(options, LoadConfiguration(options), logger)
    {
    }

    /// <summary>Connects with a client configuration already made (tests, or one that <see cref="LoadConfiguration"/> checked).</summary>
    public KubernetesLauncher(KubernetesLauncherOptions options, KubernetesClientConfiguration configuration, ILogger<KubernetesLauncher>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        _options = options;
        if (options.ServerUrl is { } url)
        {
            CheckServerUrl(url);
        }
        _logger = logger ?? (ILogger)NullLogger.Instance;
        Namespace = options.Namespace ?? (configuration.Namespace is { Length: > 0 } configured ? configured : "default");
        ApiServer = configuration.Host;
        _client = new Kubernetes(configuration);
        _watch = new KubernetesPodWatch(_client, Namespace, _logger);
    }

    /// <summary>The namespace of the workers' pods and Secrets.</summary>
    public string Namespace { get; }

    /// <summary>The API server's URL.</summary>
    public string ApiServer { get; }

    /// <summary>
    /// Unbounded: the cluster's scheduler admits pods (a pod that finds no room stays pending until its startup deadline).
    /// Bound it with the control plane's <c>--capacity-cpu</c> and <c>--capacity-memory-mb</c>.
    /// </summary>
    public LauncherCapacity Capacity { get; } = LauncherCapacity.Unbounded("the Kubernetes cluster, whose scheduler admits pods");

    /// <summary>Reads the kubeconfig file (or the in-cluster service account) named by <paramref name="options"/>.</summary>
    /// <exception cref="InvalidOperationException">It cannot be read; the message names the file or setting and the fix.</exception>
    public static KubernetesClientConfiguration LoadConfiguration(KubernetesLauncherOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.InCluster)
        {
            if (!KubernetesClientConfiguration.IsInCluster())
            {
                throw new InvalidOperationException(
                    "--kubernetes-in-cluster: this server is not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is unset or the service " +
                    "account token is missing). Run it in a pod with a service account, or give --kubeconfig FILE instead.");
            }
            return KubernetesClientConfiguration.InClusterConfig();
        }
        string path = options.KubeconfigPath is { Length: > 0 } given
            ? Path.GetFullPath(given)
            : Environment.GetEnvironmentVariable("KUBECONFIG") is { Length: > 0 } variable
                ? variable.Split(Path.PathSeparator)[0]
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"The kubeconfig file '{path}' does not exist. Give --kubeconfig FILE (or set KUBECONFIG), or --kubernetes-in-cluster when this server runs in a pod.");
        }
        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(path, options.Context);
        }
        catch (Exception exception) when (exception is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException
            or YamlDotNet.Core.YamlException)
        {
            throw new InvalidOperationException(
                $"The kubeconfig file '{path}'{(options.Context is { } context ? $" (context '{context}')" : "")} cannot be used: {exception.Message}. " +
                "Check the file, and that --kubernetes-context names one of its contexts.", exception);
        }
    }

    /// <inheritdoc/>
    public async Task<IContainerHandle> LaunchAsync(ContainerLaunchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Image.Length == 0)
        {
            throw new InvalidOperationException(
                $"Function {request.FunctionName} of app {request.AppName} has no worker image, and Kubernetes needs a deployed image: " +
                "pods run the image an app version was deployed with. Deploy the app (modal deploy) to a server started with --registry, " +
                "or run this server with --launcher process.");
        }
        string serverUrl = ServerUrlFor(request);
        string podName = KubernetesWorkerPod.PodName(request.ContainerId);
        var secret = KubernetesWorkerPod.Secret(request, podName);
        var pod = KubernetesWorkerPod.Pod(request, podName, serverUrl, _options);
        var handle = new KubernetesPodHandle(podName, secret.Metadata.Name, request.OnOutputLine, DeleteAsync);
        // Tracked before it exists, so that no event of the new pod can slip between its creation and the watch.
        _watch.Track(handle);
        try
        {
            await CallAsync("Secret", secret.Metadata.Name,
                () => _client.CoreV1.CreateNamespacedSecretAsync(secret, Namespace, cancellationToken: cancellationToken), cancellationToken)
                .ConfigureAwait(false);
            V1Pod created;
            try
            {
                created = await CallAsync("pod", podName,
                    () => _client.CoreV1.CreateNamespacedPodAsync(pod, Namespace, cancellationToken: cancellationToken), cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                // Refused: no pod exists. Unanswered (a timeout, a broken connection): it may, and must not outlive its Secret.
                await DeleteQuietlyAsync(handle, pod: exception.InnerException is not HttpOperationException).ConfigureAwait(false);
                throw;
            }
            handle.Created(created);
        }
        catch
        {
            _watch.Forget(handle);
            throw;
        }
        await OwnSecretAsync(handle, request).ConfigureAwait(false);
        _logger.LogInformation("Created pod {Pod} in namespace {Namespace} for function {Function} of app {App} (image {Image})",
            podName, Namespace, request.FunctionName, request.AppName, request.Image);
        return handle;
    }

    /// <summary>Ends the pod watch and the client. Pods still running are left to <see cref="IContainerHandle.StopAsync"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        await _watch.DisposeAsync().ConfigureAwait(false);
        _client.Dispose();
    }

    /// <summary>
    /// Makes the pod the Secret's owner, so that the cluster's garbage collector deletes the Secret with the pod even if
    /// this server dies before it stops the worker. Without it the Secret is still deleted at stop, so a refusal only warns.
    /// </summary>
    private async Task OwnSecretAsync(KubernetesPodHandle handle, ContainerLaunchRequest request)
    {
        var patch = new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "Pod", Name = handle.PodName, Uid = handle.Uid }],
            },
        };
        try
        {
            await _client.CoreV1.PatchNamespacedSecretAsync(new V1Patch(KubernetesJson.Serialize(patch), V1Patch.PatchType.MergePatch),
                handle.SecretName, Namespace).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is HttpOperationException or HttpRequestException)
        {
            _logger.LogWarning("Could not make pod {Pod} the owner of Secret {Secret}; it is deleted when the worker stops: {Message}",
                handle.PodName, handle.SecretName, Describe(exception));
            request.OnOutputLine($"Secret {handle.SecretName} is not owned by pod {handle.PodName} ({Describe(exception)}); it is deleted when the worker stops", true);
        }
    }

    /// <summary>Deletes the pod and its Secret (a missing one is already deleted); failures are retried, then reported.</summary>
    private async Task DeleteAsync(KubernetesPodHandle handle)
    {
        _watch.Forget(handle);
        await DeleteQuietlyAsync(handle, pod: true).ConfigureAwait(false);
    }

    private async Task DeleteQuietlyAsync(KubernetesPodHandle handle, bool pod)
    {
        var deletions = new List<(string What, Func<Task> Delete)>();
        if (pod)
        {
            deletions.Add(($"pod {handle.PodName}", () => _client.CoreV1.DeleteNamespacedPodAsync(handle.PodName, Namespace,
                gracePeriodSeconds: _options.TerminationGracePeriodSeconds)));
        }
        deletions.Add(($"Secret {handle.SecretName}", () => _client.CoreV1.DeleteNamespacedSecretAsync(handle.SecretName, Namespace)));
        foreach (var (what, delete) in deletions)
        {
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    await delete().ConfigureAwait(false);
                    break;
                }
                catch (HttpOperationException exception) when (exception.Response?.StatusCode == HttpStatusCode.NotFound)
                {
                    break;
                }
                catch (Exception exception)
                {
                    // Whatever went wrong (a refusal, a timeout, a client disposed at shutdown), a stop must complete.
                    if (attempt < 3)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt)).ConfigureAwait(false);
                        continue;
                    }
                    string selector = $"{KubernetesWorkerPod.ContainerIdLabel}={handle.PodName["modal-".Length..]}";
                    _logger.LogError("Could not delete {What} in namespace {Namespace} after {Attempts} attempts: {Message}. Delete it by hand: " +
                        "kubectl delete pod,secret -n {Namespace} -l {Selector}", what, Namespace, attempt, Describe(exception), Namespace, selector);
                    handle.Report($"Could not delete {what} in namespace '{Namespace}' after {attempt} attempts: {Describe(exception)}. " +
                        $"Delete it by hand: kubectl delete pod,secret -n {Namespace} -l {selector}");
                    break;
                }
            }
        }
    }

    private string ServerUrlFor(ContainerLaunchRequest request)
    {
        if (_options.ServerUrl is { } configured)
        {
            return configured;
        }
        string urls = request.Environment.GetValueOrDefault(KubernetesWorkerPod.ServerUrlVariable, "");
        var reachable = urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(url => Uri.TryCreate(url, UriKind.Absolute, out var uri) && !uri.IsLoopback)
            .ToList();
        return reachable.Count > 0
            ? string.Join(',', reachable)
            : throw new InvalidOperationException(
                $"The control plane's URL '{urls}' is a loopback address, which pods cannot reach. Give the Kubernetes launcher the URL " +
                "pods reach the control plane at (--kubernetes-server-url, e.g. http://modal.modal-system.svc:50051).");
    }

    /// <summary>Checks a URL for <see cref="KubernetesLauncherOptions.ServerUrl"/>.</summary>
    /// <exception cref="ArgumentException">It is not an absolute http or https URL.</exception>
    public static void CheckServerUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException(
                $"--kubernetes-server-url '{url}' is not an http:// or https:// URL. Give the address pods reach the control plane at, " +
                "for example http://modal.modal-system.svc:50051.");
        }
    }

    /// <summary>Creates a pod or Secret; a refusal or an unreachable API server becomes a launch failure that says what to do.</summary>
    private async Task<T> CallAsync<T>(string kind, string name, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HttpOperationException exception)
        {
            int status = (int)(exception.Response?.StatusCode ?? 0);
            string fix = status switch
            {
                401 => "The API server did not accept the credentials: check the kubeconfig's user (--kubeconfig, --kubernetes-context) or the service account token.",
                403 => $"Grant this server's identity (the kubeconfig's user, or its pod's service account) create, get, list, watch, patch and delete on pods and secrets in namespace '{Namespace}' with a Role and RoleBinding (see the README).",
                404 => $"Check that namespace '{Namespace}' exists (kubectl create namespace {Namespace}) or choose another with --kubernetes-namespace.",
                409 => $"A {kind} of that name already exists, left from an earlier launch of this container; delete it (kubectl delete {kind.ToLowerInvariant()} -n {Namespace} {name}).",
                422 => "The API server found the spec invalid; the message above says which field.",
                _ => "The control plane retries the launch; if this persists, see the API server's message.",
            };
            throw new InvalidOperationException(
                $"Kubernetes refused to create {kind} {name} in namespace '{Namespace}' at {ApiServer}: {status} {exception.Response?.ReasonPhrase}: {Describe(exception)}. {fix}",
                exception);
        }
        catch (HttpRequestException exception)
        {
            throw new InvalidOperationException(
                $"Could not create {kind} {name}: the Kubernetes API server at {ApiServer} did not answer ({exception.Message}). " +
                "Check that the cluster is up and that --kubeconfig / --kubernetes-context (or --kubernetes-in-cluster) point at it.", exception);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"Could not create {kind} {name}: the Kubernetes API server at {ApiServer} did not answer in time ({exception.Message}). " +
                "Check the cluster's health; the control plane retries the launch.", exception);
        }
    }

    /// <summary>The API server's own message (a <c>Status</c> object), else the response body, else the exception's message.</summary>
    private static string Describe(Exception exception)
    {
        if (exception is HttpOperationException { Response.Content: { Length: > 0 } content })
        {
            try
            {
                if (KubernetesJson.Deserialize<V1Status>(content) is { Message: { Length: > 0 } message })
                {
                    return message;
                }
            }
            catch (JsonException)
            {
                // Not a Status object: the body itself says more than nothing.
            }
            return content.Length > 500 ? content[..500] + "…" : content;
        }
        return exception.Message;
    }
}
