namespace Modal.Integration.Tests;

/// <summary>A standalone control plane in its own process, and this test process's app connected to it (remote mode).</summary>
public sealed class IntegrationFixture : IAsyncLifetime
{
    private ServerProcess? _server;
    private ModalApp? _app;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("The server has not started.");

    public ModalApp App => _app ?? throw new InvalidOperationException("The app has not started.");

    /// <summary>The server's data directory: its SQLite file and blobs (workers must not see it).</summary>
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("modal-integration-data-").FullName;

    public async Task InitializeAsync()
    {
        _server = await ServerProcess.StartAsync("--db", Path.Combine(DataDirectory, "modal.db"), "--blobs", Path.Combine(DataDirectory, "blobs"));
        _app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = _server.Url });
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        Directory.Delete(DataDirectory, recursive: true);
    }
}

/// <summary>One app per process: the integration tests run one after another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IntegrationCollection : ICollectionFixture<IntegrationFixture>
{
    public const string Name = "Modal integration";
}
