using Grpc.Core;
using Grpc.Net.Client;
using Modal.Api;
using Modal.Integration;

namespace Modal.Integration.Tests;

/// <summary>
/// Who may do what on a standalone control plane (a real server process on loopback with its admin token), checked from
/// outside: a worker's own credentials, read by the code it runs, must reach nothing but its own app.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class SecurityTests(IntegrationFixture fixture) : IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(fixture.Server.Url);
    private readonly string _directory = Directory.CreateTempSubdirectory("modal-security-").FullName;

    private ModalClient.ModalClientClient Client => new(_channel);

    private static Metadata Admin => new() { { "x-modal-token-id", TestToken.Id }, { "x-modal-token-secret", TestToken.Secret } };

    private static Metadata Container(string[] credentials) =>
        new() { { "x-modal-container-id", credentials[0] }, { "x-modal-container-token", credentials[1] } };

    private static FunctionSpec Spec(string name, int minContainers = 0) =>
        new() { Name = name, ParameterCount = 1, HasResult = true, Signature = $"{name}(int x) -> int", MinContainers = minContainers };

    private static async Task<RpcException> RefusedAsync<T>(Func<Task<T>> call)
    {
        var exception = await Assert.ThrowsAsync<RpcException>(call);
        return exception;
    }

    [Fact]
    public async Task AppCreate_with_a_command_line_is_refused_and_runs_nothing_on_the_host()
    {
        string marker = Path.Combine(_directory, "pwned");
        var request = new AppCreateRequest
        {
            Name = "evil", Kind = AppKind.Deployed, Functions = { Spec("F", minContainers: 1) },
            Launch = new WorkerLaunchSpec { Executable = "/bin/sh", Arguments = { "-c", $"echo pwned > {marker}" } },
        };
        var refused = await RefusedAsync(() => Client.AppCreateAsync(request, Admin).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("launch.executable", refused.Status.Detail, StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(File.Exists(marker), "the command line ran on the server's host");
    }

    [Fact]
    public async Task A_worker_token_can_neither_list_nor_stop_apps()
    {
        var victim = await Client.AppCreateAsync(new AppCreateRequest { Name = "victim-" + Guid.NewGuid().ToString("N")[..6] }, Admin);
        string[] credentials = await SecurityProbes.Functions.ContainerCredentials.RemoteAsync();

        var list = await RefusedAsync(() => Client.AppListAsync(new AppListRequest(), Container(credentials)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, list.StatusCode);
        var stop = await RefusedAsync(() => Client.AppStopAsync(new AppStopRequest { AppId = victim.AppId }, Container(credentials)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, stop.StatusCode);
        var create = await RefusedAsync(() => Client.AppCreateAsync(new AppCreateRequest { Name = "by-a-worker" }, Container(credentials)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, create.StatusCode);

        var apps = await Client.AppListAsync(new AppListRequest(), Admin);
        Assert.Equal("running", apps.Apps.Single(a => a.AppId == victim.AppId).State);
    }

    public void Dispose()
    {
        _channel.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
