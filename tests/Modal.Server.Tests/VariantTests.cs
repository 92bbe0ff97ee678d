using Google.Protobuf;
using Grpc.Core;
using Modal.Api;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

/// <summary>FunctionGetVariant and FunctionUpdateAutoscaler end to end: a real control plane, its launcher recorded, fake workers.</summary>
public sealed class VariantTests
{
    private static FunctionGetVariantRequest Variant(string baseId, string key, Action<FunctionOverrides> configure, byte[]? parameters = null)
    {
        var overrides = new FunctionOverrides();
        configure(overrides);
        return new FunctionGetVariantRequest
        {
            FunctionId = baseId, VariantKey = key, Overrides = overrides, Parameters = ByteString.CopyFrom(parameters ?? []),
        };
    }

    [Fact]
    public async Task A_variants_workers_get_its_environment_its_spec_and_its_parameters()
    {
        await using var server = await TestServer.StartAsync();
        var (_, baseId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);

        var variant = await server.Client.FunctionGetVariantAsync(Variant(baseId, "warm, with a variable", overrides =>
        {
            overrides.MinContainers = 1;
            overrides.TimeoutSeconds = 7;
            overrides.MaxInputs = 3;
            overrides.Environment["VARIANT_COLOUR"] = "green";
        }, parameters: [1, 2, 3]));
        var launched = await server.Launcher.NextAsync();
        await using var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
        var hello = await worker.HelloAsync();

        Assert.NotEqual(baseId, variant.FunctionId);
        Assert.Equal((7, 3, "Square"), (variant.Spec.TimeoutSeconds, variant.Spec.MaxInputs, variant.Spec.Name));
        Assert.Equal("green", launched.Environment["VARIANT_COLOUR"]);
        Assert.Equal("Square", launched.Environment["MODAL_FUNCTION_NAME"]);
        Assert.Equal(variant.FunctionId, hello.FunctionId);
        Assert.Equal((7, 3, "green"), (hello.Function.TimeoutSeconds, hello.Function.MaxInputs, hello.Function.Environment["VARIANT_COLOUR"]));
        Assert.Equal(new byte[] { 1, 2, 3 }, hello.Parameters.ToByteArray());
        // The declared function keeps its own options, and nothing was launched for it.
        var declared = await server.Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = baseId });
        Assert.Equal(0, declared.NumTotalRunners);
        Assert.False(server.Launcher.TryNext(out _));
    }

    [Fact]
    public async Task A_variant_is_found_again_by_its_key_and_a_call_by_name_moves_to_the_same_variant_of_the_newest_version()
    {
        await using var server = await TestServer.StartAsync();
        var request = new AppCreateRequest { Name = "moving", Kind = AppKind.Deployed, Functions = { Payloads.Spec() } };
        var first = await server.Client.AppCreateAsync(request);
        var variant = await server.Client.FunctionGetVariantAsync(Variant(first.FunctionIds["Square"], "timeoutSeconds: 9", o => o.TimeoutSeconds = 9));
        var again = await server.Client.FunctionGetVariantAsync(Variant(first.FunctionIds["Square"], "timeoutSeconds: 9", o => o.TimeoutSeconds = 9));
        Assert.Equal((variant.FunctionId, 1), (again.FunctionId, again.Version));

        var second = await server.Client.AppCreateAsync(request);
        var following = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = variant.FunctionId, Invocation = FunctionCallInvocation.Async, NewestVersion = true, PipelinedInputs = { Payloads.Input(0, 2) },
        });
        var staying = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = variant.FunctionId, Invocation = FunctionCallInvocation.Async, PipelinedInputs = { Payloads.Input(0, 3) },
        });
        var newest = await server.Client.FunctionGetVariantAsync(Variant(second.FunctionIds["Square"], "timeoutSeconds: 9", o => o.TimeoutSeconds = 9));

        Assert.Equal((newest.FunctionId, 2, 9), (following.FunctionId, newest.Version, newest.Spec.TimeoutSeconds));
        Assert.NotEqual(variant.FunctionId, newest.FunctionId);
        Assert.Equal(variant.FunctionId, staying.FunctionId);
    }

    [Fact]
    public async Task Variants_that_do_not_fit_are_refused_naming_what_is_wrong()
    {
        await using var server = await TestServer.StartAsync();
        var (_, baseId) = await server.CreateAppAsync(Payloads.Spec());
        var variant = await server.Client.FunctionGetVariantAsync(Variant(baseId, "one", o => o.TimeoutSeconds = 5));

        async Task<RpcException> RefusedAsync(FunctionGetVariantRequest request) =>
            await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionGetVariantAsync(request).ResponseAsync);

        var reused = await RefusedAsync(Variant(baseId, "one", o => o.TimeoutSeconds = 6));
        var reserved = await RefusedAsync(Variant(baseId, "two", o => o.Environment["DOTNET_gcServer"] = "1"));
        var batch = await RefusedAsync(Variant(baseId, "three", o => o.Batch = new BatchOptions { MaxBatchSize = 4, WaitMs = 10 }));
        var range = await RefusedAsync(Variant(baseId, "four", o => o.TimeoutSeconds = 100_000));
        var target = await RefusedAsync(Variant(baseId, "five", o => { o.MaxInputs = 2; o.TargetInputs = 3; }));
        var nested = await RefusedAsync(Variant(variant.FunctionId, "six", o => o.TimeoutSeconds = 5));
        var unknown = await RefusedAsync(Variant("fu-missing", "seven", o => o.TimeoutSeconds = 5));
        var noKey = await RefusedAsync(Variant(baseId, "", o => o.TimeoutSeconds = 5));

        Assert.All(new[] { reused, reserved, batch, range, target, nested, noKey }, e => Assert.Equal(StatusCode.InvalidArgument, e.StatusCode));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("the variant key 'one' of function Square", reused.Status.Detail);
        Assert.Contains("may not set DOTNET_gcServer", reserved.Status.Detail);
        Assert.Contains("is not batched", batch.Status.Detail);
        Assert.Contains("timeout_seconds is 100000", range.Status.Detail);
        Assert.Contains("target_inputs is 3", target.Status.Detail);
        Assert.Contains("is a variant ('one')", nested.Status.Detail);
    }

    [Fact]
    public async Task A_worker_may_not_make_variants_that_start_containers_in_another_app()
    {
        await using var server = await TestServer.StartAsync();
        var ownSpec = Payloads.Spec();
        ownSpec.MinContainers = 1;
        await server.CreateAppAsync(ownSpec, launch: true);
        var (_, othersId) = await server.CreateAppAsync(Payloads.Spec());
        var launched = await server.Launcher.NextAsync();
        await using var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
        await worker.HelloAsync();
        var asWorker = new Metadata { { "x-modal-container-id", launched.ContainerId }, { "x-modal-container-token", launched.ContainerToken } };

        var denied = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.FunctionGetVariantAsync(Variant(othersId, "warm", o => o.MinContainers = 2), asWorker).ResponseAsync);
        var sized = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionGetVariantAsync(
            Variant(othersId, "big", o => { o.Cpu = 2; o.Environment["MODE"] = "mine"; }), asWorker).ResponseAsync);
        // The owner's variant and a worker's of the same key are two variants: the worker cannot take (or squat) the owner's key.
        var owners = await server.Client.FunctionGetVariantAsync(Variant(othersId, "brief", o => o.TimeoutSeconds = 7));
        var allowed = await server.Client.FunctionGetVariantAsync(Variant(othersId, "brief", o => o.TimeoutSeconds = 5), asWorker);

        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Contains("only without min_containers:", denied.Status.Detail);
        Assert.Equal(StatusCode.PermissionDenied, sized.StatusCode);
        Assert.Contains("only without cpu, environment:", sized.Status.Detail);
        Assert.Equal((5, 7), (allowed.Spec.TimeoutSeconds, owners.Spec.TimeoutSeconds));
        Assert.NotEqual(owners.FunctionId, allowed.FunctionId);
    }

    [Fact]
    public async Task UpdateAutoscaler_starts_a_container_with_no_input_and_checks_its_settings()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);

        var settings = await server.Client.FunctionUpdateAutoscalerAsync(new FunctionUpdateAutoscalerRequest { FunctionId = functionId, MinContainers = 1 });
        var launched = await server.Launcher.NextAsync();
        var raised = await server.Client.FunctionUpdateAutoscalerAsync(new FunctionUpdateAutoscalerRequest { FunctionId = functionId, MaxContainers = 3 });
        var above = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionUpdateAutoscalerAsync(
            new FunctionUpdateAutoscalerRequest { FunctionId = functionId, MinContainers = 4 }).ResponseAsync);
        var outOfRange = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionUpdateAutoscalerAsync(
            new FunctionUpdateAutoscalerRequest { FunctionId = functionId, ScaledownWindowSeconds = 0 }).ResponseAsync);

        Assert.Equal((1, 0, 0, 60), (settings.MinContainers, settings.MaxContainers, settings.BufferContainers, settings.ScaledownWindowSeconds));
        Assert.Equal("Square", launched.FunctionName);
        Assert.Equal((1, 3), (raised.MinContainers, raised.MaxContainers));
        Assert.Equal(StatusCode.InvalidArgument, above.StatusCode);
        Assert.Contains("min_containers would be 4 and max_containers 3", above.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, outOfRange.StatusCode);
        Assert.Contains("scaledown_window_seconds is 0", outOfRange.Status.Detail);
    }
}
