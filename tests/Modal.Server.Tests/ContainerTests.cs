using Grpc.Core;
using Modal.Api;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

/// <summary>ContainerList and ContainerStop: live containers of the apps a token reaches, and stopping one.</summary>
public sealed class ContainerTests
{
    [Fact]
    public async Task ContainerList_shows_an_apps_live_containers_and_ContainerStop_asks_one_to_stop()
    {
        await using var server = await TokenServer.StartAsync();
        var (appId, _, launched) = await TokenServer.CreateAppWithContainerAsync(server, "containers");
        await using var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
        await worker.HelloAsync();

        var container = Assert.Single((await server.Client.ContainerListAsync(new ContainerListRequest { AppId = appId }, TokenServer.Admin)).Containers);
        Assert.Equal(launched.ContainerId, container.ContainerId);
        Assert.Equal(appId, container.AppId);
        Assert.Equal("containers", container.AppName);
        Assert.Equal("Square", container.FunctionName);
        Assert.StartsWith("fu-", container.FunctionId);
        Assert.Equal("running", container.State);
        Assert.Equal(0, container.RunningInputs);
        Assert.InRange(container.LaunchedUnixMs, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Contains((await server.Client.ContainerListAsync(new ContainerListRequest(), TokenServer.Admin)).Containers, c => c.ContainerId == launched.ContainerId);

        await server.Client.ContainerStopAsync(new ContainerStopRequest { ContainerId = launched.ContainerId }, TokenServer.Admin);

        var heartbeat = await worker.Client.ContainerHeartbeatAsync(new ContainerHeartbeatRequest(), TokenServer.WorkerHeaders(launched));
        Assert.True(heartbeat.Stop);
        var unknown = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.ContainerStopAsync(new ContainerStopRequest { ContainerId = "ct-nosuch" }, TokenServer.Admin).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("ct-nosuch", unknown.Status.Detail);
    }

    [Fact]
    public async Task Workers_may_neither_list_nor_stop_containers()
    {
        // (A client token limited to other apps is refused too: the CLI tests show it on a standalone server, whose store issues such tokens.)
        await using var server = await TokenServer.StartAsync();
        var (_, _, launched) = await TokenServer.CreateAppWithContainerAsync(server, "workers");

        var list = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.ContainerListAsync(new ContainerListRequest(), TokenServer.WorkerHeaders(launched)).ResponseAsync);
        var stop = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.ContainerStopAsync(new ContainerStopRequest { ContainerId = launched.ContainerId }, TokenServer.WorkerHeaders(launched)).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, list.StatusCode);
        Assert.Contains("ContainerList is not open to workers", list.Status.Detail);
        Assert.Equal(StatusCode.PermissionDenied, stop.StatusCode);
        Assert.Contains("ContainerStop is not open to workers", stop.Status.Detail);
    }
}
