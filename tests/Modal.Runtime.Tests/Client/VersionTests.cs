using Modal.Api;

namespace Modal.Runtime.Tests.Client;

/// <summary>How the client reaches deployed versions: by name the newest (followed across redeploys), pinned, or its own.</summary>
public sealed class VersionTests
{
    private static readonly byte[] s_arguments = [0x91, 0x01];

    private static FunctionMapRequest[] Maps(FakeControlPlane fake) =>
        [.. fake.Requests.Where(r => r.Method == "FunctionMap").Select(r => (FunctionMapRequest)r.Request)];

    private static FunctionGetRequest[] Gets(FakeControlPlane fake) =>
        [.. fake.Requests.Where(r => r.Method == "FunctionGet").Select(r => (FunctionGetRequest)r.Request)];

    [Fact]
    public async Task A_function_looked_up_by_name_follows_a_redeploy_with_its_next_call_and_then_uses_the_new_id()
    {
        var fake = new FakeControlPlane();
        fake.FunctionIds[("svc", "F", 0)] = "fu-v1";
        using var connection = fake.Connect(TimeSpan.FromSeconds(5), "http://replica-a");
        var backend = new GrpcBackend(connection, "caller", null, []);
        var byName = new FunctionReference("svc", "F", null);

        await backend.SpawnAsync(byName, s_arguments, CancellationToken.None);
        fake.NewestVersionOf["fu-v1"] = "fu-v2"; // version 2 is deployed
        await backend.SpawnAsync(byName, s_arguments, CancellationToken.None);
        await backend.SpawnAsync(byName, s_arguments, CancellationToken.None);

        Assert.Equal([("fu-v1", true), ("fu-v1", true), ("fu-v2", true)], Maps(fake).Select(m => (m.FunctionId, m.NewestVersion)));
        Assert.Single(Gets(fake)); // looked up once; the control plane's answer moved it to version 2
    }

    [Fact]
    public async Task A_pinned_version_is_looked_up_as_such_and_its_calls_stay_on_it()
    {
        var fake = new FakeControlPlane();
        fake.FunctionIds[("svc", "F", 1)] = "fu-v1";
        fake.NewestVersionOf["fu-v1"] = "fu-v2";
        using var connection = fake.Connect(TimeSpan.FromSeconds(5), "http://replica-a");
        var backend = new GrpcBackend(connection, "caller", null, []);

        await backend.SpawnAsync(new FunctionReference("svc", "F", null) { Version = 1 }, s_arguments, CancellationToken.None);
        var unknown = await Assert.ThrowsAsync<NotFoundException>(
            () => backend.SpawnAsync(new FunctionReference("svc", "F", null) { Version = 7 }, s_arguments, CancellationToken.None));

        Assert.Equal([1, 7], Gets(fake).Select(g => g.Version));
        Assert.Equal([("fu-v1", false)], Maps(fake).Select(m => (m.FunctionId, m.NewestVersion)));
        Assert.Contains("Function 'F' of app 'svc' version 7 was not found", unknown.Message);
    }

    [Fact]
    public async Task A_worker_of_a_deployed_version_calls_its_own_app_in_that_version_and_other_apps_in_their_newest()
    {
        var fake = new FakeControlPlane();
        fake.FunctionIds[("svc", "G", 3)] = "fu-g-v3";
        fake.FunctionIds[("other", "H", 0)] = "fu-h";
        using var connection = fake.Connect(TimeSpan.FromSeconds(5), "http://replica-a");
        var worker = new GrpcBackend(connection, "svc", null, [], runningAppVersion: 3);

        await worker.SpawnAsync(new FunctionReference("svc", "G", null), s_arguments, CancellationToken.None);
        await worker.SpawnAsync(new FunctionReference("other", "H", null), s_arguments, CancellationToken.None);

        Assert.Equal([("svc", 3), ("other", 0)], Gets(fake).Select(g => (g.AppName, g.Version)));
        Assert.Equal([("fu-g-v3", false), ("fu-h", true)], Maps(fake).Select(m => (m.FunctionId, m.NewestVersion)));
    }
}
