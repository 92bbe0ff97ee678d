using Grpc.Core;
using Modal.Api;
using Modal.Server.Launching;

namespace Modal.Server.Tests.Infrastructure;

/// <summary>A control plane that requires the admin token <c>id</c>/<c>secret</c>, and an app whose function keeps a container.</summary>
internal static class TokenServer
{
    public static readonly Metadata Admin = new() { { "x-modal-token-id", "id" }, { "x-modal-token-secret", "secret" } };

    public static Task<TestServer> StartAsync() => TestServer.StartAsync(new ControlPlaneOptions { TokenId = "id", TokenSecret = "secret" });

    /// <summary>
    /// An app whose one function (Square) keeps a container running (and, with <paramref name="maxContainers"/> 1, no other);
    /// returns the app and function ids and that container.
    /// </summary>
    public static async Task<(string AppId, string FunctionId, ContainerLaunchRequest Container)> CreateAppWithContainerAsync(TestServer server, string name,
        int maxContainers = 0)
    {
        var spec = Payloads.Spec();
        spec.MinContainers = 1;
        spec.MaxContainers = maxContainers;
        var created = await server.Client.AppCreateAsync(new AppCreateRequest
        {
            Name = name, Functions = { spec }, Launch = new WorkerLaunchSpec { Executable = "/bin/sleep", Arguments = { "30" } },
        }, Admin);
        var launched = await server.Launcher.NextAsync();
        Assert.Equal(created.AppId, launched.Environment["MODAL_APP_ID"]);
        return (created.AppId, created.FunctionIds[spec.Name], launched);
    }

    /// <summary>The credentials of a launched container, as its worker presents them.</summary>
    public static Metadata WorkerHeaders(ContainerLaunchRequest container) =>
        new() { { "x-modal-container-id", container.ContainerId }, { "x-modal-container-token", container.ContainerToken } };
}
