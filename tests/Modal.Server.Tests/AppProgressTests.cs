using Grpc.Core;
using Modal.Api;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

/// <summary>AppGetProgress: an app's calls with their inputs finished of sent, and its functions' containers, for `modal run`.</summary>
public sealed class AppProgressTests
{
    private static Metadata Token(TokenCreateResponse token) =>
        new() { { "x-modal-token-id", token.TokenId }, { "x-modal-token-secret", token.TokenSecret } };

    [Fact]
    public async Task AppGetProgress_shows_a_maps_inputs_finished_of_sent_and_its_functions_running_container()
    {
        await using var server = await TokenServer.StartAsync();
        var (appId, functionId, launched) = await TokenServer.CreateAppWithContainerAsync(server, "progress", maxContainers: 1);
        await using var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
        await worker.HelloAsync();
        await worker.StartAsync(credits: 1);
        var call = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 1), Payloads.Input(1, 2), Payloads.Input(2, 3) },
        }, TokenServer.Admin);
        long started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var first = (await worker.NextAsync()).Inputs.Single();
        await worker.PutAsync(first, Payloads.Success(1));
        var during = await server.Client.AppGetProgressAsync(new AppGetProgressRequest { AppId = appId }, TokenServer.Admin);

        Assert.Equal((appId, "progress", "running"), (during.AppId, during.AppName, during.State));
        Assert.InRange(during.NowUnixMs, started - 60_000, started + 60_000);
        var progress = Assert.Single(during.Calls);
        Assert.Equal((call.FunctionCallId, functionId, "Square", 3, 1, 0L), (progress.FunctionCallId, progress.FunctionId, progress.FunctionName,
            progress.InputCount, progress.FinishedInputs, progress.FinishedUnixMs));
        Assert.Equal(FunctionCallInvocation.Sync, progress.Invocation);
        Assert.Equal("", progress.ParentInputId);
        var function = Assert.Single(during.Functions);
        Assert.Equal((functionId, "Square", 1, 0), (function.FunctionId, function.FunctionName, function.RunningContainers, function.StartingContainers));
        Assert.Equal(2, function.Backlog + function.RunningInputs);

        for (int i = 0; i < 2; i++)
        {
            await worker.GrantAsync(1);
            var next = (await worker.NextAsync()).Inputs.Single();
            await worker.PutAsync(next, Payloads.Success(i));
        }
        var after = await server.Client.AppGetProgressAsync(new AppGetProgressRequest { AppId = appId }, TokenServer.Admin);
        var withFinished = await server.Client.AppGetProgressAsync(
            new AppGetProgressRequest { AppId = appId, FinishedSinceUnixMs = during.NowUnixMs - 5_000 }, TokenServer.Admin);

        Assert.Empty(after.Calls); // without finished_since_unix_ms: unfinished calls only
        var finished = Assert.Single(withFinished.Calls);
        Assert.Equal((3, 3), (finished.InputCount, finished.FinishedInputs));
        Assert.InRange(finished.FinishedUnixMs, during.NowUnixMs - 5_000, withFinished.NowUnixMs);
        Assert.Equal(0, Assert.Single(withFinished.Functions).Backlog);
    }

    [Fact]
    public async Task AppGetProgress_is_refused_to_workers_and_callers_without_a_token_and_checks_its_fields()
    {
        await using var server = await TokenServer.StartAsync();
        var (appId, _, launched) = await TokenServer.CreateAppWithContainerAsync(server, "progress-access");
        var request = new AppGetProgressRequest { AppId = appId };

        var asWorker = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppGetProgressAsync(request,
            TokenServer.WorkerHeaders(launched)).ResponseAsync);
        var noToken = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppGetProgressAsync(request).ResponseAsync);
        var unknown = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.AppGetProgressAsync(new AppGetProgressRequest { AppId = "ap-nosuchapp" }, TokenServer.Admin).ResponseAsync);
        var tooMany = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.AppGetProgressAsync(new AppGetProgressRequest { AppId = appId, MaxCalls = 5000 }, TokenServer.Admin).ResponseAsync);
        var noApp = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.AppGetProgressAsync(new AppGetProgressRequest(), TokenServer.Admin).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, asWorker.StatusCode);
        Assert.Contains("AppGetProgress is not open to workers", asWorker.Status.Detail);
        Assert.Equal(StatusCode.Unauthenticated, noToken.StatusCode);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("ap-nosuchapp", unknown.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, tooMany.StatusCode);
        Assert.Contains("max_calls", tooMany.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, noApp.StatusCode);
        Assert.Contains("app_id", noApp.Status.Detail);
    }

    [Fact]
    public async Task AppGetProgress_is_open_to_a_client_token_of_the_app_and_refused_to_one_limited_to_other_apps()
    {
        // A standalone control plane, whose store issues client tokens (the embedded one knows only its own admin token).
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { Standalone = true, TokenId = "id", TokenSecret = "secret" });
        var created = await server.Client.AppCreateAsync(new AppCreateRequest { Name = "progress-tokens", Functions = { Payloads.Spec() } },
            TokenServer.Admin);
        var own = await server.Client.TokenCreateAsync(new TokenCreateRequest { AppNames = { "progress-tokens" } }, TokenServer.Admin);
        var other = await server.Client.TokenCreateAsync(new TokenCreateRequest { AppNames = { "someone-else" } }, TokenServer.Admin);
        var request = new AppGetProgressRequest { AppId = created.AppId };

        var allowed = await server.Client.AppGetProgressAsync(request, Token(own));
        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppGetProgressAsync(request, Token(other)).ResponseAsync);

        Assert.Equal("progress-tokens", allowed.AppName);
        Assert.Equal("Square", Assert.Single(allowed.Functions).FunctionName);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("AppGetProgress", refused.Status.Detail);
        Assert.Contains("progress-tokens", refused.Status.Detail);
    }
}
