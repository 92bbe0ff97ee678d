using Google.Protobuf;
using Modal.Api;
using Modal.Server.Store;

namespace Modal.Server.Tests.StoreContract;

/// <summary>Deployed versions: every deploy of a name is the app's next version, with function rows of its own.</summary>
public abstract partial class StoreContractTests
{
    /// <summary>
    /// Opens a store on a database that has migrations 1 to 3 only (before versions) and holds the deployed app 'old'
    /// (id ap-old, launch [7]) with the function Square (fu-old) and one queued input of call fc-old, as a server
    /// deployed it before the upgrade; opening applies the rest.
    /// </summary>
    private protected abstract Task<IControlStore> OpenUpgradedFromBeforeVersionsAsync();

    private static NewFunction Function(string id, string name = "Square") => new(id, name, Spec(name).ToByteArray());

    [Fact]
    public async Task Each_deploy_of_a_name_is_the_next_version_with_function_ids_of_its_own_and_the_previous_version_intact()
    {
        var store = await OpenAsync();
        var first = await store.CreateAppAsync(new NewApp("ap-d1", "svc", (int)AppKind.Deployed, [1], "sha-one"), [Function("fu-v1")]);
        await ContainerAsync(store, first.FunctionIds["Square"], "ct-old", "ap-d1");
        await CallAsync(store, "fu-v1", "fc-queued", 2);

        var second = await store.CreateAppAsync(new NewApp("ap-d2", "svc", (int)AppKind.Deployed, [2], "sha-two"),
            [Function("fu-v2"), Function("fu-v2-cube", "Cube")]);
        var third = await store.CreateAppAsync(new NewApp("ap-d3", "svc", (int)AppKind.Deployed, [3], "sha-three"), [Function("fu-v3")]);

        Assert.Equal(("ap-d1", 1), (first.AppId, first.Version));
        Assert.Equal(("ap-d1", 2, "fu-v2", "fu-v2-cube"), (second.AppId, second.Version, second.FunctionIds["Square"], second.FunctionIds["Cube"]));
        Assert.Equal(("ap-d1", 3), (third.AppId, third.Version));
        Assert.Null(await store.GetAppAsync("ap-d2"));
        var app = (await store.GetAppAsync("ap-d1"))!;
        Assert.Equal(("deployed", 3, "sha-three", (byte)3), (app.State, app.Version, app.ArtifactDigest, app.Launch.Single()));
        Assert.Equal([(1, "sha-one"), (2, "sha-two"), (3, "sha-three")],
            (await store.ListVersionsAsync("svc")).Select(v => (v.Version, v.ArtifactDigest)));
        Assert.Empty(await store.ListVersionsAsync("nothing"));

        // By name: the newest version, or the one pinned; a function the newest version dropped is found only pinned.
        Assert.Equal(("fu-v3", 3, 3), Identity(await store.FindFunctionAsync("svc", "Square")));
        Assert.Equal(("fu-v1", 1, 3), Identity(await store.FindFunctionAsync("svc", "Square", 1)));
        Assert.Equal(("fu-v2", 2, 3), Identity(await store.FindFunctionAsync("svc", "Square", 2)));
        Assert.Null(await store.FindFunctionAsync("svc", "Cube"));
        Assert.Equal("fu-v2-cube", (await store.FindFunctionAsync("svc", "Cube", 2))!.Id);
        Assert.Null(await store.FindFunctionAsync("svc", "Square", 4));
        Assert.Equal(["Square"], await store.FunctionNamesAsync("svc"));
        Assert.Equal(["Cube", "Square"], await store.FunctionNamesAsync("svc", 2));
        Assert.True((await store.GetFunctionAsync("fu-v1"))!.Superseded);
        Assert.False((await store.GetFunctionAsync("fu-v3"))!.Superseded);

        // The first version keeps its container, its queued inputs and its launch: calls bound to it finish there.
        Assert.False((await store.GetContainerAsync("ct-old"))!.StopRequested);
        Assert.Equal("fc-queued-in-0", (await ClaimOneAsync(store, "fu-v1", "ct-old")).InputId);
        var load = (await store.ReadLoadAsync()).ToDictionary(l => l.FunctionId);
        Assert.Equal((true, (byte)1, 1L, 1L), (load["fu-v1"].Superseded, load["fu-v1"].Launch.Single(), load["fu-v1"].Ready, load["fu-v1"].Running));
        Assert.Equal((true, (byte)2), (load["fu-v2-cube"].Superseded, load["fu-v2-cube"].Launch.Single()));
        Assert.Equal((false, (byte)3, 0L), (load["fu-v3"].Superseded, load["fu-v3"].Launch.Single(), load["fu-v3"].Ready));
        Assert.Equal(["ap-d1"], (await store.ListAppsAsync(includeStopped: true)).Select(a => a.Id));
        // Progress shows the newest version's functions and an older version's while it has work (Cube of version 2 has none).
        Assert.Equal(["fu-v1", "fu-v3"], (await store.ReadAppProgressAsync("ap-d1", long.MaxValue, 100)).Functions.Select(f => f.FunctionId));
    }

    [Fact]
    public async Task Versions_survive_a_restart_of_the_store_and_an_ephemeral_app_of_the_same_name_has_none()
    {
        var store = await OpenAsync();
        await store.CreateAppAsync(new NewApp("ap-d1", "svc", (int)AppKind.Deployed, [1], "sha-one"), [Function("fu-v1")]);
        await store.CreateAppAsync(new NewApp("ap-d2", "svc", (int)AppKind.Deployed, [2], "sha-two"), [Function("fu-v2")]);
        var ephemeral = await store.CreateAppAsync(new NewApp("ap-e", "scratch", (int)AppKind.Ephemeral, [9]), [Function("fu-e")]);

        var reopened = await OpenAsync();

        Assert.Equal(0, ephemeral.Version);
        Assert.Empty(await reopened.ListVersionsAsync("scratch"));
        Assert.Equal(("fu-e", 0, 0), Identity(await reopened.FindFunctionAsync("scratch", "Square")));
        Assert.Equal([1, 2], (await reopened.ListVersionsAsync("svc")).Select(v => v.Version));
        Assert.Equal(("fu-v2", 2, 2), Identity(await reopened.FindFunctionAsync("svc", "Square")));
        Assert.Equal(("fu-v1", 1, 2), Identity(await reopened.FindFunctionAsync("svc", "Square", 1)));
        var third = await reopened.CreateAppAsync(new NewApp("ap-d3", "svc", (int)AppKind.Deployed, [3], "sha-three"), [Function("fu-v3")]);
        Assert.Equal(3, third.Version);
    }

    [Fact]
    public async Task Listing_functions_gives_the_newest_versions_functions_of_each_live_app_by_name_in_one_read()
    {
        var store = await OpenAsync();
        await store.CreateAppAsync(new NewApp("ap-svc", "svc", (int)AppKind.Deployed, [1], "sha-1"), [Function("fu-v1-sq"), Function("fu-v1-old", "Old")]);
        await store.CreateAppAsync(new NewApp("ap-svc2", "svc", (int)AppKind.Deployed, [2], "sha-2"), [Function("fu-v2-sq"), Function("fu-v2-cube", "Cube")]);
        // An ephemeral app of a deployed name does not hide the deployed one; a stopped app lists nothing.
        await store.CreateAppAsync(new NewApp("ap-eph", "svc", (int)AppKind.Ephemeral, [3]), [Function("fu-eph")]);
        await store.CreateAppAsync(new NewApp("ap-run", "alpha", (int)AppKind.Ephemeral, [4]), [Function("fu-alpha")]);
        await store.CreateAppAsync(new NewApp("ap-gone", "gone", (int)AppKind.Ephemeral, [5]), [Function("fu-gone")]);
        await store.StopAppAsync("ap-gone");
        // A variant (a Cls parameter set, WithOptions) is not a function of its own in the listing.
        await store.GetOrCreateVariantAsync(new NewVariant("fu-v2-sq-v", "fu-v2-sq", "timeoutSeconds: 5", Spec().ToByteArray(), [], []));

        var all = await store.ListNewestFunctionsAsync(null);
        var svc = await store.ListNewestFunctionsAsync("svc");

        Assert.Equal([("alpha", "Square", "fu-alpha"), ("svc", "Cube", "fu-v2-cube"), ("svc", "Square", "fu-v2-sq")],
            all.Select(f => (f.AppName, f.Name, f.Id)));
        Assert.All(all.Where(f => f.AppName == "svc"), f => Assert.Equal(2, f.Version));
        Assert.Equal(["fu-v2-cube", "fu-v2-sq"], svc.Select(f => f.Id));
        Assert.Empty(await store.ListNewestFunctionsAsync("gone"));
    }

    [Fact]
    public async Task Deploys_of_one_name_through_two_store_instances_at_once_get_one_app_and_consecutive_versions()
    {
        var first = await OpenAsync();
        var second = await OpenAsync();

        var created = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => (i % 2 == 0 ? first : second).CreateAppAsync(
            new NewApp($"ap-{i}", "svc", (int)AppKind.Deployed, [(byte)i], $"sha-{i}"), [Function($"fu-{i}")]))));

        Assert.Single(created.Select(c => c.AppId).Distinct());
        Assert.Equal(Enumerable.Range(1, 20), created.Select(c => c.Version).Order());
        var versions = await second.ListVersionsAsync("svc");
        Assert.Equal(Enumerable.Range(1, 20), versions.Select(v => v.Version));
        // Each version holds the artifact of the deploy that made it.
        Assert.All(created, c => Assert.Equal($"sha-{c.FunctionIds["Square"][3..]}", versions.Single(v => v.Version == c.Version).ArtifactDigest));
        Assert.Equal(created.MaxBy(c => c.Version)!.FunctionIds["Square"], (await first.FindFunctionAsync("svc", "Square"))!.Id);
    }

    [Fact]
    public async Task Stopping_a_deployed_app_stops_every_version_and_retention_deletes_them_all()
    {
        var store = await OpenAsync();
        await store.CreateAppAsync(new NewApp("ap-d1", "svc", (int)AppKind.Deployed, [1], "sha-one"), [Function("fu-v1")]);
        await CallAsync(store, "fu-v1", "fc-old", 1);
        await store.CreateAppAsync(new NewApp("ap-d2", "svc", (int)AppKind.Deployed, [2], "sha-two"), [Function("fu-v2")]);

        Assert.True(await store.StopAppAsync("ap-d1"));

        Assert.Equal(InputStatus.Terminated, Result((await store.ReadOutputsAsync("fc-old", 0, 10)).Outputs.Single()).Status);
        Assert.Empty(await store.ReadLoadAsync());
        Assert.Null(await store.FindFunctionAsync("svc", "Square", 1));
        await Task.Delay(20); // past the finished call's retention of 0 ms
        await store.DeleteExpiredAsync(0, 0, 100);
        Assert.Empty(await store.ListAppsAsync(includeStopped: true));
        var counts = await store.CountRowsAsync();
        Assert.Equal((0L, 0L), (counts["app_versions"], counts["functions"]));
        // The name starts again at version 1.
        Assert.Equal(1, (await store.CreateAppAsync(new NewApp("ap-new", "svc", (int)AppKind.Deployed, [4], "sha-four"), [Function("fu-new")])).Version);
    }

    [Fact]
    public async Task An_app_deployed_before_versions_existed_becomes_version_1_and_keeps_its_queued_input()
    {
        var store = await OpenUpgradedFromBeforeVersionsAsync();
        _opened.Add(store);

        Assert.Equal([(1, "")], (await store.ListVersionsAsync("old")).Select(v => (v.Version, v.ArtifactDigest)));
        Assert.Equal(("fu-old", 1, 1), Identity(await store.FindFunctionAsync("old", "Square")));
        var load = Assert.Single(await store.ReadLoadAsync());
        Assert.Equal((false, (byte)7, 1L), (load.Superseded, load.Launch.Single(), load.Ready));

        var next = await store.CreateAppAsync(new NewApp("ap-other", "old", (int)AppKind.Deployed, [8], "sha-two"), [Function("fu-new")]);

        Assert.Equal(("ap-old", 2), (next.AppId, next.Version));
        Assert.Equal(("fu-new", 2, 2), Identity(await store.FindFunctionAsync("old", "Square")));
        Assert.True((await store.GetFunctionAsync("fu-old"))!.Superseded);
        await ContainerAsync(store, "fu-old", "ct-old", "ap-old");
        Assert.Equal("fc-old", (await ClaimOneAsync(store, "fu-old", "ct-old")).CallId);
    }

    private static (string Id, int Version, int AppVersion) Identity(FunctionRow? function)
    {
        Assert.NotNull(function);
        return (function.Id, function.Version, function.AppVersion);
    }
}
