using Google.Protobuf;
using Modal.Server.Store;
using Npgsql;

namespace Modal.Server.Tests.StoreContract;

/// <summary>
/// The store contract on PostgreSQL: a fresh database for this class (<see cref="PostgresDatabase"/>), emptied before
/// each test; every instance is a replica on it.
/// </summary>
public sealed class PostgresStoreContractTests(PostgresDatabase database) : StoreContractTests, IClassFixture<PostgresDatabase>
{
    private protected override Task ResetDatabaseAsync() => database.EmptyAsync();

    private protected override async Task<IControlStore> OpenInstanceAsync() => await PostgresControlStore.OpenAsync(database.Url);

    private protected override async Task<IControlStore> OpenUpgradedFromBeforeVersionsAsync()
    {
        string url = await database.CreateDatabaseAsync();
        var builder = PostgresUrl.Parse(url);
        builder.Pooling = false;
        await using (var connection = new NpgsqlConnection(builder.ConnectionString))
        {
            await connection.OpenAsync();
            await using (var schema = new NpgsqlCommand(
                "CREATE TABLE schema_migrations(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());" +
                string.Concat(PostgresSchema.Migrations.Take(3)) + "INSERT INTO schema_migrations(version) VALUES(1), (2), (3);", connection))
            {
                await schema.ExecuteNonQueryAsync();
            }
            await using var command = new NpgsqlCommand(
                "INSERT INTO apps(id, name, kind, created_ms, heartbeat_ms, launch) VALUES('ap-old', 'old', 1, 0, 0, '\\x07'::bytea);" +
                "INSERT INTO functions(id, app_id, name, spec, timeout_s, max_retries, backoff, initial_delay_ms, max_delay_ms, batch_size, " +
                "batch_wait_ms, ready, backlog_bytes) VALUES('fu-old', 'ap-old', 'Square', @spec, 300, 0, 2, 1000, 60000, 1, 0, 1, 1);" +
                "INSERT INTO calls(id, function_id, invocation, is_generator, created_ms, input_count, unfinished) " +
                "VALUES('fc-old', 'fu-old', 1, false, 0, 1, 1);" +
                "INSERT INTO inputs(id, call_id, function_id, idx, args, args_size, ready_at_ms) " +
                "VALUES('fc-old-in-0', 'fc-old', 'fu-old', 0, '\\x01'::bytea, 1, 0);", connection);
            command.Parameters.AddWithValue("spec", Infrastructure.Payloads.Spec().ToByteArray());
            await command.ExecuteNonQueryAsync();
        }
        return await PostgresControlStore.OpenAsync(url);
    }
}
