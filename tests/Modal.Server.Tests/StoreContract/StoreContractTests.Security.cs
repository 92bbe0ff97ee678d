using Modal.Server.Store;

namespace Modal.Server.Tests.StoreContract;

// Tokens, artifacts, blob readers and input owners: what the control plane's access checks read.
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task Tokens_are_stored_hashed_listed_and_revoked_at_once_for_every_instance()
    {
        var first = await OpenAsync();
        var second = await OpenAsync();
        await first.CreateTokenAsync(new TokenRecord("tk-a", [1, 2, 3], Admin: true, Apps: null, ExpiresUnixMs: null, 1000, false, "admin"));
        await first.CreateTokenAsync(new TokenRecord("tk-b", [4], Admin: false, Apps: ["alpha", "beta"], ExpiresUnixMs: 5000, 2000, false, ""));

        var b = await second.GetTokenAsync("tk-b");
        Assert.NotNull(b);
        Assert.Equal(new byte[] { 4 }, b.SecretHash);
        Assert.False(b.Admin);
        Assert.Equal(["alpha", "beta"], b.Apps);
        Assert.Equal(5000, b.ExpiresUnixMs);
        Assert.False(b.Revoked);
        var a = await second.GetTokenAsync("tk-a");
        Assert.True(a!.Admin);
        Assert.Null(a.Apps);
        Assert.Null(a.ExpiresUnixMs);
        Assert.Equal("admin", a.Description);
        Assert.Null(await second.GetTokenAsync("tk-nope"));
        Assert.Equal(["tk-a", "tk-b"], (await second.ListTokensAsync()).Select(t => t.Id));

        Assert.True(await first.RevokeTokenAsync("tk-b"));
        Assert.True((await second.GetTokenAsync("tk-b"))!.Revoked);
        Assert.False(await first.RevokeTokenAsync("tk-nope"));

        // A configured admin token is written again at each start: same id, new hash.
        await second.CreateTokenAsync(new TokenRecord("tk-a", [9], Admin: true, Apps: null, ExpiresUnixMs: null, 3000, false, "admin"));
        Assert.Equal(new byte[] { 9 }, (await first.GetTokenAsync("tk-a"))!.SecretHash);
        Assert.Equal(2, (await first.ListTokensAsync()).Count);
    }

    [Fact]
    public async Task An_artifact_is_recorded_once_by_its_digest()
    {
        var store = await OpenAsync();
        Assert.Null(await store.GetArtifactAsync("sha256-x"));
        Assert.True(await store.RecordArtifactAsync("sha256-x", [1, 2], 42));
        Assert.False(await store.RecordArtifactAsync("sha256-x", [1, 2], 42));
        Assert.Equal(new byte[] { 1, 2 }, await (await OpenAsync()).GetArtifactAsync("sha256-x"));
    }

    [Fact]
    public async Task Blob_readers_are_granted_once_each_and_unknown_blobs_have_none()
    {
        var store = await OpenAsync();
        Assert.Null(await store.ReadBlobReadersAsync("bl-1"));
        Assert.False(await store.GrantBlobAsync("bl-1", "tk:a"));
        await store.InsertBlobAsync("bl-1", 10);
        Assert.Empty((await store.ReadBlobReadersAsync("bl-1"))!);
        Assert.True(await store.GrantBlobAsync("bl-1", "tk:a"));
        Assert.True(await store.GrantBlobAsync("bl-1", "app:ap-1"));
        Assert.True(await store.GrantBlobAsync("bl-1", "tk:a"));
        // A reader whose name contains another's is a different reader.
        Assert.True(await store.GrantBlobAsync("bl-1", "tk:ab"));
        Assert.Equal(["tk:a", "app:ap-1", "tk:ab"], await (await OpenAsync()).ReadBlobReadersAsync("bl-1"));
    }

    [Fact]
    public async Task An_input_owner_names_its_call_app_and_lease_holder()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await CallAsync(store, functionId, "fc-1", 1);
        Assert.Equal(new InputOwner("fc-1-in-0", "fc-1", "ap-1", null), await store.GetInputOwnerAsync("fc-1-in-0"));
        await ContainerAsync(store, functionId, "ct-1");
        await ClaimOneAsync(store, functionId, "ct-1");
        Assert.Equal(new InputOwner("fc-1-in-0", "fc-1", "ap-1", "ct-1"), await store.GetInputOwnerAsync("fc-1-in-0"));
        Assert.Null(await store.GetInputOwnerAsync("in-unknown"));
    }
}
