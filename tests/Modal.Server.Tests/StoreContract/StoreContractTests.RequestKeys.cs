using Google.Protobuf;
using Modal.Api;
using Modal.Server.Store;

namespace Modal.Server.Tests.StoreContract;

/// <summary>Idempotency keys of requests that create an object: a retry gets what the first request made.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task A_retried_deploy_with_the_same_key_makes_no_second_version_and_returns_the_first_ones_ids()
    {
        var store = await OpenAsync();
        var first = await store.CreateAppAsync(new NewApp("ap-a", "svc", (int)AppKind.Deployed, [1], "sha-a", "app:k1"), [Function("fu-a")]);
        // A variant shares its base's app, name and version; the replay lists the declared functions only.
        await store.GetOrCreateVariantAsync(new NewVariant("fu-a-v", "fu-a", "timeoutSeconds: 5", Spec().ToByteArray(), [], []));
        var retried = await store.CreateAppAsync(new NewApp("ap-b", "svc", (int)AppKind.Deployed, [2], "sha-b", "app:k1"), [Function("fu-b")]);
        var next = await store.CreateAppAsync(new NewApp("ap-c", "svc", (int)AppKind.Deployed, [3], "sha-c", "app:k2"), [Function("fu-c")]);

        Assert.Equal((first.AppId, first.Version, "fu-a"), (retried.AppId, retried.Version, retried.FunctionIds["Square"]));
        Assert.Equal((1, 2), (first.Version, next.Version));
        Assert.Equal([1, 2], (await store.ListVersionsAsync("svc")).Select(v => v.Version));
        Assert.Null(await store.GetFunctionAsync("fu-b"));
    }

    [Fact]
    public async Task A_retried_ephemeral_app_create_with_the_same_key_through_another_instance_returns_the_same_app()
    {
        var first = await OpenAsync();
        var second = await OpenAsync();

        var created = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => (i % 2 == 0 ? first : second).CreateAppAsync(
            new NewApp($"ap-{i}", "eph", (int)AppKind.Ephemeral, [7], IdempotencyKey: "app:same"), [Function($"fu-{i}")]))));

        Assert.Single(created.Select(c => (c.AppId, c.FunctionIds["Square"])).Distinct());
        Assert.Single(await second.ListAppsAsync(includeStopped: true), a => a.Name == "eph");
        Assert.Equal(1, (await first.CountRowsAsync())["request_keys"]);
    }

    [Fact]
    public async Task A_blob_key_names_the_first_blob_stored_with_it_and_retention_keeps_it_within_the_hour()
    {
        var store = await OpenAsync();
        Assert.Null(await store.FindRequestKeyAsync("blob:tk:1:k"));

        Assert.Equal("bl-1", await store.InsertBlobAsync("bl-1", 10, "blob:tk:1:k"));
        Assert.Equal("bl-1", await store.InsertBlobAsync("bl-2", 10, "blob:tk:1:k"));
        Assert.Equal("bl-3", await store.InsertBlobAsync("bl-3", 10, null));
        Assert.Equal("bl-1", await store.FindRequestKeyAsync("blob:tk:1:k"));

        await store.DeleteExpiredAsync(callRetentionMs: 0, syncOutputRetentionMs: 0, maxRows: 100);
        Assert.Equal("bl-1", await store.FindRequestKeyAsync("blob:tk:1:k"));
    }
}
