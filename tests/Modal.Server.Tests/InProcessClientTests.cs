using System.Diagnostics;
using Grpc.Core;
using Modal.Api;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

/// <summary>
/// The embedded mode's app reaches its own control plane in process (<see cref="ControlPlane.InProcessClient"/>): the
/// same interceptors and handlers as over HTTP/2, the same statuses, its cancellation and deadline honoured, and
/// streaming calls still over the network.
/// </summary>
public sealed class InProcessClientTests
{
    private static readonly Metadata Token = new() { { "x-modal-token-id", "id" }, { "x-modal-token-secret", "secret" } };

    private static async Task<(TestServer Server, ModalClient.ModalClientClient InProcess)> StartAsync()
    {
        var server = await TestServer.StartAsync(new ControlPlaneOptions { TokenId = "id", TokenSecret = "secret" });
        return (server, new ModalClient.ModalClientClient(server.ControlPlane.InProcessClient(server.Channel.CreateCallInvoker())));
    }

    [Fact]
    public async Task A_unary_call_runs_in_process_with_the_networks_result()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { TokenId = "id", TokenSecret = "secret" });
        // Its network is closed before the first call: unary calls need none, a stream cannot go anywhere.
        var network = Grpc.Net.Client.GrpcChannel.ForAddress(server.ControlPlane.Url);
        var inProcess = new ModalClient.ModalClientClient(server.ControlPlane.InProcessClient(network.CreateCallInvoker()));
        network.Dispose();
        Assert.Throws<ObjectDisposedException>(() => inProcess.BlobPut(Token));

        var created = await inProcess.AppCreateAsync(new AppCreateRequest { Name = "in-process", Kind = AppKind.Ephemeral, Functions = { Payloads.Spec() } },
            Token);
        string functionId = created.FunctionIds["Square"];

        var request = new FunctionMapRequest { FunctionId = functionId, Invocation = FunctionCallInvocation.Async };
        request.PipelinedInputs.Add(Payloads.Input(0, 7));
        var map = await inProcess.FunctionMapAsync(request, Token);

        // The call is in the store, as the network sees it: its input waits (no worker was launched).
        var stats = await server.Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = functionId }, Token);
        Assert.Equal(1, stats.Backlog);
        var viaNetwork = await server.Client.FunctionCallFromIdAsync(new FunctionCallFromIdRequest { FunctionCallId = map.FunctionCallId }, Token);
        var viaProcess = await inProcess.FunctionCallFromIdAsync(new FunctionCallFromIdRequest { FunctionCallId = map.FunctionCallId }, Token);
        Assert.Equal(viaNetwork, viaProcess);
        Assert.Equal(functionId, viaProcess.FunctionId);
    }

    [Fact]
    public async Task Refusals_carry_the_same_status_and_message_as_over_the_network()
    {
        var (server, inProcess) = await StartAsync();
        await using var _ = server;
        var unknown = new FunctionMapRequest { FunctionId = "fu-unknown", Invocation = FunctionCallInvocation.Async };
        unknown.PipelinedInputs.Add(Payloads.Input(0, 1));

        var network = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionMapAsync(unknown, Token).ResponseAsync);
        var local = await Assert.ThrowsAsync<RpcException>(() => inProcess.FunctionMapAsync(unknown, Token).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, local.StatusCode);
        Assert.Equal(network.StatusCode, local.StatusCode);
        Assert.Equal(network.Status.Detail, local.Status.Detail);

        // Authentication runs in process too: a wrong secret is refused as over the network.
        var wrong = new Metadata { { "x-modal-token-id", "id" }, { "x-modal-token-secret", "not-it" } };
        var refused = await Assert.ThrowsAsync<RpcException>(() => inProcess.AppListAsync(new AppListRequest(), wrong).ResponseAsync);
        var refusedOverNetwork = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppListAsync(new AppListRequest(), wrong).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Equal(refusedOverNetwork.Status.Detail, refused.Status.Detail);
    }

    [Fact]
    public async Task A_long_poll_ends_at_its_deadline_or_when_its_caller_cancels()
    {
        var (server, inProcess) = await StartAsync();
        await using var _ = server;
        var created = await inProcess.AppCreateAsync(new AppCreateRequest { Name = "polls", Kind = AppKind.Ephemeral, Functions = { Payloads.Spec() } }, Token);
        var request = new FunctionMapRequest { FunctionId = created.FunctionIds["Square"], Invocation = FunctionCallInvocation.Async };
        request.PipelinedInputs.Add(Payloads.Input(0, 3));
        var map = await inProcess.FunctionMapAsync(request, Token);
        var poll = new FunctionGetOutputsRequest { FunctionCallId = map.FunctionCallId, TimeoutSeconds = 30, MaxOutputs = 1 };

        var watch = Stopwatch.StartNew();
        var expired = await Assert.ThrowsAsync<RpcException>(() =>
            inProcess.FunctionGetOutputsAsync(poll, Token, deadline: DateTime.UtcNow.AddMilliseconds(300)).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, expired.StatusCode);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        watch.Restart();
        var cancelled = await Assert.ThrowsAsync<RpcException>(() =>
            inProcess.FunctionGetOutputsAsync(poll, Token, cancellationToken: cancel.Token).ResponseAsync);
        Assert.Equal(StatusCode.Cancelled, cancelled.StatusCode);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Streaming_calls_go_over_the_network_and_a_stopped_control_plane_is_unavailable()
    {
        var (server, inProcess) = await StartAsync();
        var data = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        using (var upload = inProcess.BlobPut(Token))
        {
            await upload.RequestStream.WriteAsync(new BlobChunk { Data = Google.Protobuf.ByteString.CopyFrom(data) });
            await upload.RequestStream.CompleteAsync();
            string blobId = (await upload.ResponseAsync).BlobId;
            Assert.StartsWith("bl-", blobId);
        }

        await server.DisposeAsync();

        var stopped = await Assert.ThrowsAsync<RpcException>(() => inProcess.AppListAsync(new AppListRequest(), Token).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, stopped.StatusCode);
    }
}
