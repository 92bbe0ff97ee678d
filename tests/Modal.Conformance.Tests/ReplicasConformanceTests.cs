using Modal.Integration.Tests;

namespace Modal.Conformance.Tests;

/// <summary>
/// Three standalone control planes in their own processes on one PostgreSQL database (tests/run provides it); this
/// process spreads its calls over the three URLs (remote mode).
/// </summary>
public sealed class ReplicasFixture() : ModalAppFixture(ModalMode.Remote)
{
    private readonly List<ServerProcess> _servers = [];
    private PostgresTestDatabase? _database;
    private string? _blobs;

    protected override async Task BeforeStartAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync();
        _blobs = Directory.CreateTempSubdirectory("modal-conformance-blobs-").FullName;
        for (int i = 0; i < 3; i++)
        {
            _servers.Add(await ServerProcess.StartAsync("--db", _database.Url, "--blobs", _blobs));
        }
    }

    protected override ModalAppOptions CreateOptions() => base.CreateOptions() with { ServerUrl = string.Join(',', _servers.Select(s => s.Url)) };

    protected override async Task AfterStopAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
        if (_blobs is not null)
        {
            Directory.Delete(_blobs, recursive: true);
        }
    }
}

[Collection(ConformanceCollection.Name)]
public sealed class ReplicasConformanceTests(ReplicasFixture fixture) : ConformanceTests<ReplicasFixture>(fixture);
