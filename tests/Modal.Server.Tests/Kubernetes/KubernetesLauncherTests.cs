using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using k8s;
using k8s.Models;
using Modal.Server.Launching;

namespace Modal.Server.Tests.Kubernetes;

/// <summary>
/// The Kubernetes launcher against <see cref="FakeKubernetesApiServer"/>: what it sends (every pod spec read back as the
/// client library's <see cref="V1Pod"/>), the token's Secret, pod phases observed as exits, stop, and API errors.
/// </summary>
public sealed class KubernetesLauncherTests : IAsyncLifetime
{
    private const string Namespace = "workers";
    private const string PodServerUrl = "http://modal.modal-system.svc:50051";
    private const string Image = "registry.test:5000/hello@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private readonly string _directory = Directory.CreateTempSubdirectory("modal-k8s-test-").FullName;
    private readonly ConcurrentQueue<(string Line, bool Stderr)> _lines = new();
    private FakeKubernetesApiServer _api = null!;
    private KubernetesLauncher _launcher = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApiServer.StartAsync();
        _launcher = NewLauncher();
    }

    public async Task DisposeAsync()
    {
        await _launcher.DisposeAsync();
        await _api.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private KubernetesLauncher NewLauncher(KubernetesLauncherOptions? options = null) =>
        new((options ?? new KubernetesLauncherOptions { ServerUrl = PodServerUrl }) with { KubeconfigPath = _api.WriteKubeconfig(_directory, Namespace) });

    private ContainerLaunchRequest Request(string? containerId = null, string image = Image, double cpu = 0, int memoryMb = 0, string gpu = "")
    {
        containerId ??= "ct-" + Guid.NewGuid().ToString("N");
        string token = Convert.ToHexString(Guid.NewGuid().ToByteArray()) + "5EC2E7";
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["GREETING"] = "hello",
            ["MODAL_WORKER"] = "1",
            ["MODAL_SERVER_URL"] = "http://127.0.0.1:50051",
            ["MODAL_CONTAINER_ID"] = containerId,
            ["MODAL_CONTAINER_TOKEN"] = token,
            ["MODAL_APP_ID"] = "ap-1",
            ["MODAL_APP_NAME"] = "Hello App",
            ["MODAL_FUNCTION_NAME"] = "Square",
        };
        return new ContainerLaunchRequest(containerId, token, "Hello App", "Square", "/usr/bin/dotnet", ["App.dll"], "", environment, image,
            (line, stderr) => _lines.Enqueue((line, stderr)))
        {
            Cpu = cpu, MemoryMb = memoryMb, Gpu = gpu,
        };
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {Patience.TotalSeconds} s for {what}.");
            }
            await Task.Delay(20);
        }
    }

    private IEnumerable<RecordedRequest> Sent(string method, string resource) =>
        _api.Requests.Where(r => r.Method == method && r.PathAndQuery.StartsWith($"/api/v1/namespaces/{Namespace}/{resource}", StringComparison.Ordinal));

    [Fact]
    public async Task Every_pod_spec_sent_reads_back_as_a_V1Pod_with_resources_labels_environment_and_the_token_by_secret_reference()
    {
        var large = Request(cpu: 0.5, memoryMb: 256, gpu: "A100:2");
        var small = Request();

        await _launcher.LaunchAsync(large, CancellationToken.None);
        await _launcher.LaunchAsync(small, CancellationToken.None);

        var posted = Sent("POST", "pods").ToList();
        Assert.Equal(2, posted.Count);
        var pods = posted.Select(request => KubernetesJson.Deserialize<V1Pod>(request.Body)).ToDictionary(pod => pod.Metadata.Name);
        foreach (var (request, cpu, memory, gpus) in new[] { (large, "500m", "256Mi", "2"), (small, "125m", "128Mi", null) })
        {
            string podName = "modal-" + request.ContainerId;
            var pod = pods[podName];
            Assert.Equal(("v1", "Pod"), (pod.ApiVersion, pod.Kind));
            Assert.Equal("Never", pod.Spec.RestartPolicy);
            Assert.False(pod.Spec.AutomountServiceAccountToken);
            var labels = pod.Metadata.Labels;
            Assert.Equal("modal-server", labels["app.kubernetes.io/managed-by"]);
            Assert.Equal("Hello-App", labels["modal.dev/app"]);
            Assert.Equal("Square", labels["modal.dev/function"]);
            Assert.Equal(request.ContainerId, labels["modal.dev/container-id"]);
            Assert.Equal("Hello App", pod.Metadata.Annotations["modal.dev/app-name"]);

            var container = Assert.Single(pod.Spec.Containers);
            Assert.Equal(("worker", Image), (container.Name, container.Image));
            Assert.Null(container.Command);
            Assert.Equal(cpu, container.Resources.Requests["cpu"].ToString());
            Assert.Equal(memory, container.Resources.Requests["memory"].ToString());
            Assert.Equal(cpu, container.Resources.Limits["cpu"].ToString());
            Assert.Equal(memory, container.Resources.Limits["memory"].ToString());
            Assert.Equal(gpus, container.Resources.Limits.TryGetValue("nvidia.com/gpu", out var gpu) ? gpu.ToString() : null);
            Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
            Assert.Equal("FallbackToLogsOnError", container.TerminationMessagePolicy);
            Assert.Equal("/tmp", Assert.Single(container.VolumeMounts).MountPath);

            var environment = container.Env.ToDictionary(variable => variable.Name);
            Assert.Equal(PodServerUrl, environment["MODAL_SERVER_URL"].Value);
            Assert.Equal(request.ContainerId, environment["MODAL_CONTAINER_ID"].Value);
            Assert.Equal("1", environment["MODAL_WORKER"].Value);
            Assert.Equal("hello", environment["GREETING"].Value);
            var token = environment["MODAL_CONTAINER_TOKEN"];
            Assert.Null(token.Value);
            Assert.Equal((podName + "-token", "token"), (token.ValueFrom.SecretKeyRef.Name, token.ValueFrom.SecretKeyRef.Key));
            Assert.DoesNotContain(request.ContainerToken, posted.Single(p => p.Body.Contains(podName, StringComparison.Ordinal)).Body,
                StringComparison.OrdinalIgnoreCase);

            var secret = KubernetesJson.Deserialize<V1Secret>(Sent("POST", "secrets").Single(p => p.Body.Contains(podName, StringComparison.Ordinal)).Body);
            Assert.Equal(podName + "-token", secret.Metadata.Name);
            Assert.Equal(request.ContainerToken, Encoding.UTF8.GetString(secret.Data["token"]));
            Assert.Equal(request.ContainerId, secret.Metadata.Labels["modal.dev/container-id"]);
            var stored = _api.Secrets[$"{Namespace}/{podName}-token"];
            var owner = Assert.Single(stored.Metadata.OwnerReferences);
            Assert.Equal(("Pod", podName, _api.Pods[$"{Namespace}/{podName}"].Metadata.Uid), (owner.Kind, owner.Name, owner.Uid));
        }
        // The token crosses the wire in the Secret only, and the kubeconfig's credentials are used.
        Assert.All(_api.Requests.Where(r => !r.PathAndQuery.Contains("/secrets", StringComparison.Ordinal)), r =>
        {
            Assert.DoesNotContain(large.ContainerToken, r.Body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(small.ContainerToken, r.Body, StringComparison.OrdinalIgnoreCase);
        });
        Assert.All(_api.Requests, r => Assert.Equal("Bearer fake-bearer-token", r.Authorization));
    }

    [Theory]
    [InlineData("Failed", null, 3, "Error", 3, "pod {0} Failed; its worker container exited with code 3 (Error)")]
    [InlineData("Failed", null, 137, "OOMKilled", 137, "exited with code 137 (OOMKilled)")]
    [InlineData("Failed", "Evicted", null, null, 137, "pod {0} Failed: Evicted (The node was low on resource: memory.)")]
    [InlineData("Succeeded", null, 0, "Completed", 0, "pod {0} Succeeded; its worker container exited with code 0 (Completed)")]
    public async Task A_pod_that_ends_is_observed_as_an_exit_with_its_reason(string phase, string? reason, int? exitCode, string? containerReason,
        int expectedCode, string expectedReason)
    {
        var request = Request();
        var handle = await _launcher.LaunchAsync(request, CancellationToken.None);
        string podName = "modal-" + request.ContainerId;
        _api.SetPhase(Namespace, podName, "Running");
        await Task.Delay(100);
        Assert.False(handle.Exited.IsCompleted);

        _api.SetPhase(Namespace, podName, phase, reason, reason is null ? null : "The node was low on resource: memory.", exitCode, containerReason);

        Assert.Equal(expectedCode, await handle.Exited.WaitAsync(Patience));
        Assert.Contains(_lines, line => line.Stderr && line.Line.Contains(string.Format(expectedReason, podName), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_worker_that_crashes_before_connecting_ends_with_the_tail_of_its_output()
    {
        var request = Request();
        var handle = await _launcher.LaunchAsync(request, CancellationToken.None);

        _api.SetPhase(Namespace, "modal-" + request.ContainerId, "Failed", exitCode: 134, containerReason: "Error",
            containerMessage: "Unhandled exception. System.IO.FileNotFoundException: Could not load file or assembly 'Missing'");

        Assert.Equal(134, await handle.Exited.WaitAsync(Patience));
        Assert.Contains(_lines, line => line.Stderr && line.Line.EndsWith(
            "exited with code 134 (Error: Unhandled exception. System.IO.FileNotFoundException: Could not load file or assembly 'Missing')", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_pod_deleted_by_someone_else_is_observed_as_a_killed_worker()
    {
        var request = Request();
        var handle = await _launcher.LaunchAsync(request, CancellationToken.None);

        _api.DeleteFromOutside(Namespace, "modal-" + request.ContainerId);

        Assert.Equal(137, await handle.Exited.WaitAsync(Patience));
        Assert.Contains(_lines, line => line.Stderr && line.Line == $"pod modal-{request.ContainerId} was deleted");
    }

    [Fact]
    public async Task A_pod_that_cannot_pull_its_image_says_so_in_the_workers_output()
    {
        var request = Request();
        var handle = await _launcher.LaunchAsync(request, CancellationToken.None);

        _api.SetPhase(Namespace, "modal-" + request.ContainerId, "Pending", message: "Back-off pulling image \"registry.test:5000/hello\"",
            waitingReason: "ImagePullBackOff");

        await WaitUntilAsync(() => _lines.Any(line => line.Line.Contains("is waiting: ImagePullBackOff (Back-off pulling image", StringComparison.Ordinal)),
            "the waiting reason in the worker's output");
        Assert.False(handle.Exited.IsCompleted);
    }

    [Fact]
    public async Task A_pod_whose_image_name_is_invalid_fails_at_once_as_a_start_failure()
    {
        var request = Request();
        var handle = await _launcher.LaunchAsync(request, CancellationToken.None);

        _api.SetPhase(Namespace, "modal-" + request.ContainerId, "Pending", message: "couldn't parse image name \"registry.test:5000/Hello\"",
            waitingReason: "InvalidImageName");

        Assert.Equal(1, await handle.Exited.WaitAsync(Patience));
        Assert.Contains(_lines, line => line.Stderr
            && line.Line == $"pod modal-{request.ContainerId} cannot start: InvalidImageName (couldn't parse image name \"registry.test:5000/Hello\")");
    }

    [Fact]
    public async Task Stop_deletes_the_pod_and_its_secret()
    {
        var request = Request();
        var handle = await _launcher.LaunchAsync(request, CancellationToken.None);
        string podName = "modal-" + request.ContainerId;
        Assert.True(_api.Pods.ContainsKey($"{Namespace}/{podName}"));
        Assert.True(_api.Secrets.ContainsKey($"{Namespace}/{podName}-token"));

        await handle.StopAsync();

        Assert.Equal(137, await handle.Exited.WaitAsync(Patience));
        Assert.False(_api.Pods.ContainsKey($"{Namespace}/{podName}"));
        Assert.False(_api.Secrets.ContainsKey($"{Namespace}/{podName}-token"));
        Assert.Single(Sent("DELETE", "pods/" + podName));
        Assert.Single(Sent("DELETE", "secrets/" + podName + "-token"));
        // A second stop, and the dispose after an exit, send nothing more.
        await handle.StopAsync();
        await handle.DisposeAsync();
        Assert.Single(Sent("DELETE", "pods/" + podName));
    }

    [Fact]
    public async Task A_stop_whose_deletion_is_refused_completes_and_says_what_to_delete_by_hand()
    {
        var request = Request();
        var handle = await _launcher.LaunchAsync(request, CancellationToken.None);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            _api.Refuse("DELETE", "/pods/", 403, "pods \"modal-x\" is forbidden: User \"modal\" cannot delete resource \"pods\"");
        }

        await handle.StopAsync().WaitAsync(Patience);

        Assert.Equal(137, await handle.Exited.WaitAsync(Patience));
        Assert.Equal(3, Sent("DELETE", "pods/").Count());
        Assert.True(_api.Pods.ContainsKey($"{Namespace}/modal-{request.ContainerId}"));
        Assert.False(_api.Secrets.ContainsKey($"{Namespace}/modal-{request.ContainerId}-token"));
        Assert.Contains(_lines, line => line.Stderr && line.Line ==
            $"Could not delete pod modal-{request.ContainerId} in namespace 'workers' after 3 attempts: pods \"modal-x\" is forbidden: User \"modal\" " +
            $"cannot delete resource \"pods\". Delete it by hand: kubectl delete pod,secret -n workers -l modal.dev/container-id={request.ContainerId}");
    }

    [Fact]
    public async Task A_refused_pod_fails_the_launch_with_the_api_servers_reason_and_the_fix_and_leaves_no_secret()
    {
        _api.Refuse("POST", "/pods", 403,
            "pods is forbidden: User \"system:serviceaccount:modal:server\" cannot create resource \"pods\" in API group \"\" in the namespace \"workers\"");
        var request = Request();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _launcher.LaunchAsync(request, CancellationToken.None));

        Assert.Contains($"Kubernetes refused to create pod modal-{request.ContainerId} in namespace 'workers' at {_api.Url}: 403 Forbidden", error.Message);
        Assert.Contains("cannot create resource \"pods\"", error.Message);
        Assert.Contains("Role and RoleBinding", error.Message);
        Assert.Empty(_api.Pods);
        Assert.Empty(_api.Secrets);
        Assert.Single(Sent("DELETE", $"secrets/modal-{request.ContainerId}-token"));
    }

    [Fact]
    public async Task A_name_taken_by_an_earlier_server_fails_the_launch_with_a_conflict_that_says_what_to_delete()
    {
        var request = Request();
        await _launcher.LaunchAsync(request, CancellationToken.None);
        await using var restarted = NewLauncher();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => restarted.LaunchAsync(request, CancellationToken.None));

        Assert.Contains($"create Secret modal-{request.ContainerId}-token in namespace 'workers'", error.Message);
        Assert.Contains("409 Conflict", error.Message);
        Assert.Contains("already exists", error.Message);
        Assert.Contains($"kubectl delete secret -n workers modal-{request.ContainerId}-token", error.Message);
        // The first server's pod is untouched.
        Assert.True(_api.Pods.ContainsKey($"{Namespace}/modal-{request.ContainerId}"));
        Assert.True(_api.Secrets.ContainsKey($"{Namespace}/modal-{request.ContainerId}-token"));
    }

    [Fact]
    public async Task A_pod_creation_left_unanswered_fails_the_launch_and_deletes_the_pod_it_may_have_made_and_its_secret()
    {
        _api.PodCreationAnswerDelay = TimeSpan.FromSeconds(30);
        var configuration = KubernetesLauncher.LoadConfiguration(new KubernetesLauncherOptions { KubeconfigPath = _api.WriteKubeconfig(_directory, Namespace) });
        configuration.HttpClientTimeout = TimeSpan.FromSeconds(1);
        await using var launcher = new KubernetesLauncher(new KubernetesLauncherOptions { ServerUrl = PodServerUrl }, configuration);
        var request = Request();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => launcher.LaunchAsync(request, CancellationToken.None));

        Assert.Contains($"Could not create pod modal-{request.ContainerId}: the Kubernetes API server at {_api.Url} did not answer in time", error.Message);
        Assert.Empty(_api.Pods);
        Assert.Empty(_api.Secrets);
    }

    [Fact]
    public async Task An_api_server_that_does_not_answer_fails_the_launch_naming_it()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var configuration = new KubernetesClientConfiguration { Host = $"http://127.0.0.1:{port}", Namespace = Namespace };
        await using var launcher = new KubernetesLauncher(new KubernetesLauncherOptions { ServerUrl = PodServerUrl }, configuration);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => launcher.LaunchAsync(Request(), CancellationToken.None));

        Assert.Contains($"the Kubernetes API server at http://127.0.0.1:{port} did not answer", error.Message);
        Assert.Contains("--kubeconfig", error.Message);
    }

    [Fact]
    public async Task A_launch_without_an_image_fails_saying_Kubernetes_needs_a_deployed_image_and_sends_nothing()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _launcher.LaunchAsync(Request(image: ""), CancellationToken.None));

        Assert.Contains("Function Square of app Hello App has no worker image, and Kubernetes needs a deployed image", error.Message);
        Assert.Contains("--launcher process", error.Message);
        Assert.Empty(_api.Requests);
    }

    [Fact]
    public async Task A_bad_gpu_request_is_refused_naming_it()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _launcher.LaunchAsync(Request(gpu: "A100:lots"), CancellationToken.None));

        Assert.Contains("requests GPU 'A100:lots', which is not TYPE or TYPE:COUNT", error.Message);
        Assert.Empty(_api.Pods);
    }

    [Fact]
    public async Task Without_a_server_url_for_pods_a_loopback_control_plane_is_refused()
    {
        await using var launcher = NewLauncher(new KubernetesLauncherOptions());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => launcher.LaunchAsync(Request(), CancellationToken.None));

        Assert.Contains("'http://127.0.0.1:50051' is a loopback address, which pods cannot reach", error.Message);
        Assert.Contains("--kubernetes-server-url", error.Message);
    }

    [Fact]
    public async Task The_watch_resumes_when_the_api_server_ends_it_and_lists_again_when_its_version_has_expired()
    {
        var first = Request();
        var firstHandle = await _launcher.LaunchAsync(first, CancellationToken.None);
        await WaitUntilAsync(() => _api.WatchCount >= 1, "the first watch");

        _api.EndWatches();
        await WaitUntilAsync(() => _api.WatchCount >= 2, "the watch to be resumed");
        _api.SetPhase(Namespace, "modal-" + first.ContainerId, "Failed", exitCode: 2, containerReason: "Error");
        Assert.Equal(2, await firstHandle.Exited.WaitAsync(Patience));

        var second = Request();
        var secondHandle = await _launcher.LaunchAsync(second, CancellationToken.None);
        int lists = Sent("GET", "pods").Count(r => !r.PathAndQuery.Contains("watch=true", StringComparison.Ordinal));
        int watches = _api.WatchCount;
        _api.CompactHistory();
        _api.EndWatches();
        await WaitUntilAsync(() => Sent("GET", "pods").Count(r => !r.PathAndQuery.Contains("watch=true", StringComparison.Ordinal)) > lists,
            "a new list after the 410");
        await WaitUntilAsync(() => _api.WatchCount > watches + 1, "a watch from the new list");
        _api.SetPhase(Namespace, "modal-" + second.ContainerId, "Failed", exitCode: 4, containerReason: "Error");
        Assert.Equal(4, await secondHandle.Exited.WaitAsync(Patience));
    }

    [Fact]
    public void A_missing_kubeconfig_is_named_with_the_fix()
    {
        string missing = Path.Combine(_directory, "nope", "config");

        var error = Assert.Throws<InvalidOperationException>(() => KubernetesLauncher.LoadConfiguration(new KubernetesLauncherOptions { KubeconfigPath = missing }));

        Assert.Contains($"The kubeconfig file '{missing}' does not exist", error.Message);
        Assert.Contains("--kubeconfig FILE", error.Message);
    }

    [Fact]
    public async Task The_namespace_comes_from_the_option_else_the_kubeconfig_context()
    {
        string kubeconfig = _api.WriteKubeconfig(_directory, "from-context");

        var fromContext = KubernetesLauncher.LoadConfiguration(new KubernetesLauncherOptions { KubeconfigPath = kubeconfig });
        await using var chosen = new KubernetesLauncher(new KubernetesLauncherOptions { Namespace = "chosen" }, fromContext);
        await using var defaulted = new KubernetesLauncher(new KubernetesLauncherOptions(), fromContext);

        Assert.Equal("from-context", fromContext.Namespace);
        Assert.Equal(_api.Url.TrimEnd('/'), fromContext.Host.TrimEnd('/'));
        Assert.Equal("chosen", chosen.Namespace);
        Assert.Equal("from-context", defaulted.Namespace);
    }
}
