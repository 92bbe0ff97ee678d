using Google.Protobuf;
using Modal.Api;
using Modal.Server.Store;

namespace Modal.Server.Tests.StoreContract;

/// <summary>Variants (a function row of its own per base and key) and autoscaler settings laid over a spec.</summary>
public abstract partial class StoreContractTests
{
    private static NewVariant Variant(string id, string baseId, string key, int timeoutSeconds = 1, byte[]? parameters = null)
    {
        var overrides = new FunctionOverrides { TimeoutSeconds = timeoutSeconds };
        return new NewVariant(id, baseId, key, Spec(configure: spec => spec.TimeoutSeconds = timeoutSeconds).ToByteArray(), overrides.ToByteArray(),
            parameters ?? []);
    }

    [Fact]
    public async Task A_variant_is_a_function_of_its_own_found_again_by_its_key_and_deleted_with_its_app()
    {
        var store = await OpenAsync();
        string baseId = await FunctionAsync(store);

        var variant = await store.GetOrCreateVariantAsync(Variant("fu-variant", baseId, "timeoutSeconds: 1", parameters: [4, 2]));
        var again = await store.GetOrCreateVariantAsync(Variant("fu-other-id", baseId, "timeoutSeconds: 1", parameters: [4, 2]));
        var second = await store.GetOrCreateVariantAsync(Variant("fu-second", baseId, "timeoutSeconds: 2", timeoutSeconds: 2));

        Assert.NotNull(variant);
        Assert.Equal(("fu-variant", "ap-1", "app", "Square", 0), (variant.Id, variant.AppId, variant.AppName, variant.Name, variant.Version));
        Assert.Equal((baseId, "timeoutSeconds: 1"), (variant.Variant!.BaseId, variant.Variant.Key));
        Assert.Equal(new byte[] { 4, 2 }, variant.Variant.Parameters);
        Assert.Equal(1, FunctionOverrides.Parser.ParseFrom(variant.Variant.Overrides).TimeoutSeconds);
        Assert.Equal("fu-variant", again!.Id);
        Assert.Equal("fu-second", second!.Id);
        Assert.Equal(2, FunctionSpec.Parser.ParseFrom((await store.GetFunctionAsync("fu-second"))!.Spec).TimeoutSeconds);
        Assert.Null((await store.GetFunctionAsync(baseId))!.Variant);

        // By name, the declared function alone; the autoscaler sees every pool.
        Assert.Equal(baseId, (await store.FindFunctionAsync("app", "Square"))!.Id);
        Assert.Equal(["Square"], await store.FunctionNamesAsync("app"));
        Assert.Equal([baseId, "fu-second", "fu-variant"], (await store.ReadLoadAsync()).Select(l => l.FunctionId).Order(StringComparer.Ordinal));

        // Its inputs are its own, with its own timeout.
        await CallAsync(store, baseId, "fc-base", 1);
        await CallAsync(store, "fu-variant", "fc-v", 1);
        await ContainerAsync(store, "fu-variant", "ct-v");
        var claimed = await ClaimOneAsync(store, "fu-variant", "ct-v");
        Assert.Equal("fc-v", claimed.CallId);
        Assert.InRange(claimed.DeadlineUnixMs - store.NowMs, 0, 1_500);
        var load = (await store.ReadLoadAsync()).ToDictionary(l => l.FunctionId);
        Assert.Equal((1L, 0L, 0L, 1L), (load[baseId].Ready, load[baseId].Running, load["fu-variant"].Ready, load["fu-variant"].Running));

        // A variant of a variant, or of nothing, is not made.
        Assert.Null(await store.GetOrCreateVariantAsync(Variant("fu-nested", "fu-variant", "nested")));
        Assert.Null(await store.GetOrCreateVariantAsync(Variant("fu-orphan", "fu-missing", "orphan")));

        Assert.True(await store.StopAppAsync("ap-1"));
        var refused = await Assert.ThrowsAsync<StoreRejection>(() => store.GetOrCreateVariantAsync(Variant("fu-late", baseId, "late")));
        Assert.Equal(StoreRejectionKind.FailedPrecondition, refused.Kind);
        await store.EndContainerAsync("ct-v", "stopped with its app", 8);
        await Task.Delay(20); // past the finished calls' retention of 0 ms
        await store.DeleteExpiredAsync(0, 0, 100);
        Assert.Equal(0L, (await store.CountRowsAsync())["functions"]);
    }

    [Fact]
    public async Task Concurrent_requests_for_one_variant_through_two_store_instances_get_one_row()
    {
        var first = await OpenAsync();
        var second = await OpenAsync();
        string baseId = await FunctionAsync(first);

        var rows = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            (i % 2 == 0 ? first : second).GetOrCreateVariantAsync(Variant($"fu-v{i}", baseId, i % 4 < 2 ? "one" : "two")))));

        Assert.Equal(2, rows.Select(row => row!.Id).Distinct().Count());
        Assert.Single(rows.Where(row => row!.Variant!.Key == "one").Select(row => row!.Id).Distinct());
        Assert.Equal(3L, (await second.CountRowsAsync())["functions"]);
    }

    [Fact]
    public async Task A_variant_belongs_to_its_bases_version_and_is_superseded_with_it()
    {
        var store = await OpenAsync();
        var first = await store.CreateAppAsync(new NewApp("ap-d1", "svc", (int)AppKind.Deployed, [1], "sha-one"), [Function("fu-v1")]);
        var variant = await store.GetOrCreateVariantAsync(Variant("fu-v1-variant", first.FunctionIds["Square"], "key"));
        Assert.Equal((1, false), (variant!.Version, variant.Superseded));

        await store.CreateAppAsync(new NewApp("ap-d2", "svc", (int)AppKind.Deployed, [2], "sha-two"), [Function("fu-v2")]);

        Assert.True((await store.GetFunctionAsync("fu-v1-variant"))!.Superseded);
        Assert.True((await store.ReadLoadAsync()).Single(l => l.FunctionId == "fu-v1-variant").Superseded);
        var newest = await store.GetOrCreateVariantAsync(Variant("fu-v2-variant", "fu-v2", "key"));
        Assert.Equal(("fu-v2-variant", 2), (newest!.Id, newest.Version));
    }

    [Fact]
    public async Task Autoscaler_updates_are_laid_over_the_spec_and_a_minimum_above_the_maximum_is_refused()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store, Spec(configure: spec => spec.MaxContainers = 3));

        Assert.Equal(new AutoscalerOverride(2, null, null, null), await store.UpdateAutoscalerAsync(functionId, new AutoscalerOverride(2, null, null, null)));
        Assert.Equal(new AutoscalerOverride(2, null, 1, 5),
            await store.UpdateAutoscalerAsync(functionId, new AutoscalerOverride(null, null, 1, 5)));
        var refused = await Assert.ThrowsAsync<StoreRejection>(() => store.UpdateAutoscalerAsync(functionId, new AutoscalerOverride(null, 1, null, null)));
        Assert.Equal(StoreRejectionKind.InvalidArgument, refused.Kind);
        Assert.Contains("min_containers would be 2 and max_containers 1", refused.Message);
        Assert.Equal(new AutoscalerOverride(0, 1, 1, 5), await store.UpdateAutoscalerAsync(functionId, new AutoscalerOverride(0, 1, null, null)));

        Assert.Equal(new AutoscalerOverride(0, 1, 1, 5), (await store.GetFunctionAsync(functionId))!.Autoscaler);
        var scaling = (await store.ReadLoadAsync()).Single().ScalingSpec();
        Assert.Equal((0, 1, 1, 5, 60), (scaling.MinContainers, scaling.MaxContainers, scaling.BufferContainers, scaling.ScaledownWindowSeconds,
            scaling.TimeoutSeconds));
        Assert.Equal(3, FunctionSpec.Parser.ParseFrom((await store.GetFunctionAsync(functionId))!.Spec).MaxContainers);
        Assert.Null(await store.UpdateAutoscalerAsync("fu-missing", new AutoscalerOverride(1, null, null, null)));
    }
}
