using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using Modal.Api;
using Modal.Server.Launching;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests.Kubernetes;

/// <summary>A control plane whose launcher is the Kubernetes launcher, against the simulated API server, with the test as the pod's worker.</summary>
public sealed class KubernetesControlPlaneTests
{
    private const string Namespace = "workers";
    private const string Image = "registry.test:5000/k8s-app@sha256:89abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567";
    private static readonly Metadata Admin = new() { { "x-modal-token-id", "id" }, { "x-modal-token-secret", "secret" } };
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {Patience.TotalSeconds} s for {what}.");
            }
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_kubeconfig_that_cannot_be_read_stops_the_control_plane_at_start_naming_the_file()
    {
        string missing = Path.Combine(Path.GetTempPath(), "modal-no-such-dir-" + Guid.NewGuid().ToString("N"), "kubeconfig");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ControlPlane.StartAsync(new ControlPlaneOptions
        {
            Kubernetes = new KubernetesLauncherOptions { KubeconfigPath = missing, ServerUrl = "http://modal.modal-system.svc:50051" },
        }));

        Assert.Contains($"The kubeconfig file '{missing}' does not exist", error.Message);
    }

    [Fact]
    public async Task Workers_run_as_pods_that_connect_with_their_secrets_token_and_a_failed_pod_is_replaced_and_stopping_the_app_deletes_them()
    {
        var directory = Directory.CreateTempSubdirectory("modal-k8s-cp-");
        try
        {
            await using var api = await FakeKubernetesApiServer.StartAsync();
            await using var controlPlane = await ControlPlane.StartAsync(new ControlPlaneOptions
            {
                TokenId = "id", TokenSecret = "secret",
                Kubernetes = new KubernetesLauncherOptions
                {
                    KubeconfigPath = api.WriteKubeconfig(directory.FullName, Namespace), ServerUrl = "http://modal.modal-system.svc:50051",
                },
            });
            using var channel = GrpcChannel.ForAddress(controlPlane.Url);
            var client = new ModalClient.ModalClientClient(channel);
            var spec = Payloads.Spec();
            spec.MinContainers = 1;
            spec.Cpu = 0.25;
            spec.MemoryMb = 512;

            var app = await client.AppCreateAsync(new AppCreateRequest
            {
                Name = "k8s-app", Functions = { spec }, Launch = new WorkerLaunchSpec { Image = Image },
            }, Admin);
            await WaitUntilAsync(() => Task.FromResult(api.Pods.Count == 1), "the first pod");

            var pod = api.Pods.Values.Single();
            var container = Assert.Single(pod.Spec.Containers);
            Assert.Equal(Image, container.Image);
            Assert.Equal(("250m", "512Mi"), (container.Resources.Limits["cpu"].ToString(), container.Resources.Limits["memory"].ToString()));
            var environment = container.Env.ToDictionary(variable => variable.Name);
            Assert.Equal(app.AppId, environment["MODAL_APP_ID"].Value);
            Assert.Equal("http://modal.modal-system.svc:50051", environment["MODAL_SERVER_URL"].Value);
            string containerId = environment["MODAL_CONTAINER_ID"].Value;
            string secretName = environment["MODAL_CONTAINER_TOKEN"].ValueFrom.SecretKeyRef.Name;
            string token = Encoding.UTF8.GetString(api.Secrets[$"{Namespace}/{secretName}"].Data["token"]);

            // The token the Secret holds is the one the control plane accepts from this container.
            await using var worker = new FakeWorker(channel, containerId, token);
            await worker.HelloAsync();
            var listed = Assert.Single((await client.ContainerListAsync(new ContainerListRequest { AppId = app.AppId }, Admin)).Containers);
            Assert.Equal((containerId, "running"), (listed.ContainerId, listed.State));

            api.SetPhase(Namespace, pod.Metadata.Name, "Failed", exitCode: 1, containerReason: "Error");

            await WaitUntilAsync(async () => !(await client.ContainerListAsync(new ContainerListRequest { AppId = app.AppId }, Admin)).Containers
                .Any(c => c.ContainerId == containerId), "the failed pod's container to end");
            await WaitUntilAsync(() => Task.FromResult(api.Pods.Count == 1 && !api.Pods.ContainsKey($"{Namespace}/{pod.Metadata.Name}")
                && !api.Secrets.ContainsKey($"{Namespace}/{secretName}")), "the failed pod and its Secret to be deleted and a new pod to replace it");

            await client.AppStopAsync(new AppStopRequest { AppId = app.AppId }, Admin);

            await WaitUntilAsync(() => Task.FromResult(api.Pods.Count == 0 && api.Secrets.Count == 0), "the app's pods and Secrets to be deleted");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
