using Grpc.Core;
using Grpc.Net.Client;
using Modal.Api;

namespace Modal.Server.Tests.Infrastructure;

/// <summary>A real control plane on loopback with real gRPC clients.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private TestServer(ControlPlane controlPlane, RecordingLauncher launcher)
    {
        ControlPlane = controlPlane;
        Launcher = launcher;
        Channel = GrpcChannel.ForAddress(controlPlane.Url, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 128 * 1024 * 1024,
            MaxSendMessageSize = 128 * 1024 * 1024,
        });
        Client = new ModalClient.ModalClientClient(Channel);
    }

    public ControlPlane ControlPlane { get; }
    public RecordingLauncher Launcher { get; }
    public GrpcChannel Channel { get; }
    internal ModalClient.ModalClientClient Client { get; }

    public static async Task<TestServer> StartAsync(ControlPlaneOptions? options = null)
    {
        var launcher = new RecordingLauncher();
        var controlPlane = await ControlPlane.StartAsync((options ?? new ControlPlaneOptions()) with { Launcher = launcher });
        return new TestServer(controlPlane, launcher);
    }

    internal FakeWorker Worker(string containerId, string token) => new(Channel, containerId, token);

    /// <summary>Creates an ephemeral app; with <paramref name="launch"/> null, no worker is ever launched.</summary>
    internal async Task<(string AppId, string FunctionId)> CreateAppAsync(FunctionSpec spec, bool launch = false, AppKind kind = AppKind.Ephemeral)
    {
        var request = new AppCreateRequest { Name = "test-" + Guid.NewGuid().ToString("N")[..8], Kind = kind, Functions = { spec } };
        if (launch)
        {
            request.Launch = new WorkerLaunchSpec { Executable = "/bin/sleep", Arguments = { "30" } };
        }
        var response = await Client.AppCreateAsync(request);
        return (response.AppId, response.FunctionIds[spec.Name]);
    }

    internal async Task<FunctionGetOutputsResponse> WaitForOutputsAsync(string callId, int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        var all = new FunctionGetOutputsResponse();
        while (all.Outputs.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Only {all.Outputs.Count} of {count} outputs of {callId} arrived.");
            }
            var response = await Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest
            {
                FunctionCallId = callId, AfterCursor = all.Cursor, TimeoutSeconds = 1,
            });
            all.Outputs.AddRange(response.Outputs);
            all.Cursor = response.Cursor;
            all.UnfinishedInputs = response.UnfinishedInputs;
        }
        return all;
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await ControlPlane.DisposeAsync();
    }
}
