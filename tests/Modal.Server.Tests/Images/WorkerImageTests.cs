using Grpc.Core;
using Modal.Api;
using Modal.Server.Images;
using Modal.Server.Launching;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests.Images;

public sealed class WorkerImageTests
{
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Fact]
    public void Labels_name_the_app_its_entry_assembly_its_functions_with_signatures_and_the_worker_environment()
    {
        var labels = WorkerImage.Labels("hello", "Hello.dll", [("Square", "Square(int x) -> int"), ("Greet", "Greet(string name) -> string")]);

        Assert.Equal("hello", labels["dev.modal.app"]);
        Assert.Equal("Hello.dll", labels["dev.modal.entrypoint"]);
        Assert.Equal("Greet,Square", labels["dev.modal.functions"]);
        Assert.Equal("Square(int x) -> int", labels["dev.modal.function.Square"]);
        Assert.Equal("MODAL_WORKER MODAL_SERVER_URL MODAL_CONTAINER_ID MODAL_CONTAINER_TOKEN MODAL_APP_ID MODAL_APP_NAME MODAL_FUNCTION_NAME",
            labels["dev.modal.worker-environment"]);
        Assert.Equal(["dotnet", "/app/Hello.dll"], WorkerImage.Entrypoint("Hello.dll"));
    }

    [Theory]
    [InlineData("localhost:5000/modal-apps/hello@" + Digest, true)]
    [InlineData("registry.example.com/team/hello@" + Digest, true)]
    [InlineData("localhost:5000/modal-apps/hello:latest", false)]
    [InlineData("localhost:5000/modal-apps/hello@sha256:1234", false)]
    public void Only_an_image_pinned_by_digest_is_recorded(string image, bool pinned) => Assert.Equal(pinned, WorkerImage.IsPinned(image));

    [Theory]
    [InlineData("My App_v2!", "my-app_v2")]
    [InlineData("---", "app")]
    public void App_names_become_valid_repository_names(string appName, string repository)
        => Assert.Equal($"localhost:5000/modal-apps/{repository}", WorkerImage.Repository("localhost:5000/", appName));

    [Fact]
    public async Task An_image_not_pinned_by_digest_is_refused_at_AppCreate()
    {
        await using var server = await TestServer.StartAsync();
        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppCreateAsync(new AppCreateRequest
        {
            Name = "tagged", Functions = { Payloads.Spec() }, Launch = new WorkerLaunchSpec { Image = "localhost:5000/tagged:latest" },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("launch.image 'localhost:5000/tagged:latest' is not pinned by digest", refused.Status.Detail);

        var pinned = await server.Client.AppCreateAsync(new AppCreateRequest
        {
            Name = "pinned", Kind = AppKind.Deployed, Functions = { Payloads.Spec() },
            Launch = new WorkerLaunchSpec { Executable = "/bin/false", Image = "localhost:5000/pinned@" + Digest },
        });
        Assert.Equal("localhost:5000/pinned@" + Digest, pinned.Image);
    }

    [Fact]
    public async Task A_podman_server_names_its_registry_and_refuses_an_app_with_no_image()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions
        {
            Podman = new PodmanLauncherOptions(), ImageRegistry = "localhost:5999", BaseImage = "localhost:5999/runtime:10",
        });
        var config = await server.Client.ImageConfigGetAsync(new ImageConfigGetRequest());
        Assert.Equal(("localhost:5999", "localhost:5999/runtime:10", "podman", true), (config.Registry, config.BaseImage, config.Launcher, config.ImagesRequired));

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppCreateAsync(new AppCreateRequest
        {
            Name = "no-image", Functions = { Payloads.Spec() }, Launch = new WorkerLaunchSpec { Executable = "/bin/false" },
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("brings no worker image, and this server's podman launcher runs images only", refused.Status.Detail);
    }
}
