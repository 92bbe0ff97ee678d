using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Modal.Server.Store;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests.StoreContract;

/// <summary>The store contract on SQLite: a database file of its own per test (two instances share it).</summary>
public sealed class SqliteStoreContractTests : StoreContractTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modal-contract-").FullName;

    private protected override Task ResetDatabaseAsync() => Task.CompletedTask;

    private protected override Task<IControlStore> OpenInstanceAsync() =>
        Task.FromResult<IControlStore>(new SqliteControlStore(Path.Combine(_directory, "modal.db")));

    private protected override Task<IControlStore> OpenUpgradedFromBeforeVersionsAsync()
    {
        string path = Path.Combine(_directory, "before-versions.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText =
                "CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL);" +
                string.Concat(SqliteSchema.Migrations.Take(3)) +
                "INSERT INTO schema_migrations VALUES(1, 0), (2, 0), (3, 0);" +
                "INSERT INTO apps(id, name, kind, created_ms, heartbeat_ms, launch) VALUES('ap-old', 'old', 1, 0, 0, X'07');" +
                "INSERT INTO functions(id, app_id, name, spec, timeout_s, max_retries, backoff, initial_delay_ms, max_delay_ms, batch_size, " +
                $"batch_wait_ms, ready, backlog_bytes) VALUES('fu-old', 'ap-old', 'Square', X'{Convert.ToHexString(Payloads.Spec().ToByteArray())}', " +
                "300, 0, 2, 1000, 60000, 1, 0, 1, 1);" +
                "INSERT INTO calls(id, function_id, invocation, is_generator, created_ms, input_count, unfinished) VALUES('fc-old', 'fu-old', 1, 0, 0, 1, 1);" +
                "INSERT INTO inputs(id, call_id, function_id, idx, args, args_size, ready_at_ms) VALUES('fc-old-in-0', 'fc-old', 'fu-old', 0, X'01', 1, 0);";
            command.ExecuteNonQuery();
        }
        return Task.FromResult<IControlStore>(new SqliteControlStore(path));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A reader connection may still be closing; the temp folder is cleaned by the OS.
        }
    }
}
