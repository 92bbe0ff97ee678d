using Modal.Integration.Tests;

namespace Modal.Conformance.Tests;

/// <summary>A standalone control plane in its own process; this process connects to it by URL (remote mode).</summary>
public sealed class RemoteFixture() : ModalAppFixture(ModalMode.Remote)
{
    private ServerProcess? _server;

    protected override async Task BeforeStartAsync() => _server = await ServerProcess.StartAsync();

    protected override ModalAppOptions CreateOptions() => new() { Mode = Mode, ServerUrl = _server!.Url };

    protected override async Task AfterStopAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[Collection(ConformanceCollection.Name)]
public sealed class RemoteConformanceTests(RemoteFixture fixture) : ConformanceTests<RemoteFixture>(fixture);
