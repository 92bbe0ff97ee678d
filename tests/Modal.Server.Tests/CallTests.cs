using Grpc.Core;
using Modal.Api;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

public sealed class CallTests
{
    [Fact]
    public async Task Arguments_of_the_wrong_arity_are_rejected_naming_the_signature()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec("Add", 2, "Add(int a, int b) -> int"));

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId,
            PipelinedInputs = { Payloads.Input(0, 1) },
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("Add(int a, int b) -> int", error.Status.Detail);
    }

    [Fact]
    public async Task Arguments_that_are_not_an_array_are_rejected()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId,
            PipelinedInputs = { new FunctionInputItem { Arguments = new Payload { Inline = Google.Protobuf.ByteString.CopyFrom(0x07) } } },
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("Square(int x) -> int", error.Status.Detail);
    }

    [Fact]
    public async Task Unknown_function_and_call_are_not_found()
    {
        await using var server = await TestServer.StartAsync();

        var function = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = "fu-missing",
        }).ResponseAsync);
        var byName = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionGetAsync(new FunctionGetRequest
        {
            AppName = "nope", FunctionName = "Square",
        }).ResponseAsync);
        var call = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest
        {
            FunctionCallId = "fc-missing",
        }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, function.StatusCode);
        Assert.Contains("fu-missing", function.Status.Detail);
        Assert.Equal(StatusCode.NotFound, byName.StatusCode);
        Assert.Contains("nope", byName.Status.Detail);
        Assert.Equal(StatusCode.NotFound, call.StatusCode);
        Assert.Contains("fc-missing", call.Status.Detail);
    }

    [Fact]
    public async Task Function_get_finds_a_function_by_app_and_name()
    {
        await using var server = await TestServer.StartAsync();
        var request = new AppCreateRequest { Name = "lookup", Kind = AppKind.Deployed, Functions = { Payloads.Spec(), Payloads.Spec("Cube") } };
        var created = await server.Client.AppCreateAsync(request);

        var found = await server.Client.FunctionGetAsync(new FunctionGetRequest { AppName = "lookup", FunctionName = "Cube" });
        var missing = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.FunctionGetAsync(new FunctionGetRequest { AppName = "lookup", FunctionName = "Nope" }).ResponseAsync);

        Assert.Equal(created.FunctionIds["Cube"], found.FunctionId);
        Assert.Equal("Cube", found.Spec.Name);
        Assert.Contains("Square", missing.Status.Detail);
    }

    [Fact]
    public async Task Oversize_inline_arguments_are_rejected_pointing_to_the_blob_store()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());
        var big = new byte[3 * 1024 * 1024];
        big[0] = 0x91;

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId,
            PipelinedInputs = { new FunctionInputItem { Arguments = new Payload { Inline = Google.Protobuf.ByteString.CopyFrom(big) } } },
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("BlobPut", error.Status.Detail);
    }

    [Fact]
    public async Task Cancel_terminates_pending_inputs()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId,
            PipelinedInputs = { Payloads.Input(0, 1), Payloads.Input(1, 2), Payloads.Input(2, 3) },
        });

        await server.Client.FunctionCallCancelAsync(new FunctionCallCancelRequest { FunctionCallId = map.FunctionCallId });
        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 3);

        Assert.All(outputs.Outputs, o => Assert.Equal(InputStatus.Terminated, o.Result.Status));
        Assert.Equal([0, 1, 2], outputs.Outputs.Select(o => o.Index).Order());
        Assert.Equal(0, outputs.UnfinishedInputs);
        var stats = await server.Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = functionId });
        Assert.Equal(0, stats.Backlog);
    }

    [Fact]
    public async Task Outputs_of_spawned_calls_expire_after_the_retention_period()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions
        {
            OutputRetention = TimeSpan.FromMilliseconds(300),
            RetentionSweepInterval = TimeSpan.FromMilliseconds(100),
        });
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId,
            Invocation = FunctionCallInvocation.Async,
            PipelinedInputs = { Payloads.Input(0, 1) },
        });
        await server.Client.FunctionCallCancelAsync(new FunctionCallCancelRequest { FunctionCallId = map.FunctionCallId });
        Assert.Single((await server.WaitForOutputsAsync(map.FunctionCallId, 1)).Outputs);

        RpcException? expired = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (expired is null && DateTime.UtcNow < deadline)
        {
            try
            {
                await server.Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest { FunctionCallId = map.FunctionCallId });
                await Task.Delay(100);
            }
            catch (RpcException exception)
            {
                expired = exception;
            }
        }

        Assert.NotNull(expired);
        Assert.Equal(StatusCode.NotFound, expired.StatusCode);
        Assert.Contains("expired", expired.Status.Detail);
        Assert.Equal("output-expired", expired.Trailers.GetValue("modal-error-kind"));
    }

    [Fact]
    public async Task Long_poll_without_outputs_waits_for_its_timeout_and_returns_the_same_cursor()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 1) } });

        var response = await server.Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest
        {
            FunctionCallId = map.FunctionCallId, AfterCursor = 0, TimeoutSeconds = 0.2,
        });

        Assert.Empty(response.Outputs);
        Assert.Equal(0, response.Cursor);
        Assert.Equal(1, response.UnfinishedInputs);
    }

    [Fact]
    public async Task Callers_without_the_token_are_unauthenticated()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { TokenId = "id", TokenSecret = "secret" });

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppListAsync(new AppListRequest()).ResponseAsync);
        var ok = await server.Client.AppListAsync(new AppListRequest(),
            new Metadata { { "x-modal-token-id", "id" }, { "x-modal-token-secret", "secret" } });

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.NotNull(ok);
    }

    [Fact]
    public async Task Workers_may_call_functions_with_their_container_credentials()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { TokenId = "id", TokenSecret = "secret" });
        var owner = new Metadata { { "x-modal-token-id", "id" }, { "x-modal-token-secret", "secret" } };
        var spec = Payloads.Spec();
        spec.MinContainers = 1;
        var created = await server.Client.AppCreateAsync(new AppCreateRequest
        {
            Name = "nested", Functions = { spec }, Launch = new WorkerLaunchSpec { Executable = "/bin/sleep", Arguments = { "30" } },
        }, owner);
        var launched = await server.Launcher.NextAsync();
        var worker = new Metadata { { "x-modal-container-id", launched.ContainerId }, { "x-modal-container-token", launched.ContainerToken } };

        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = created.FunctionIds["Square"], PipelinedInputs = { Payloads.Input(0, 2) },
        }, worker);

        Assert.Single(map.InputIds);
    }
}
