using Npgsql;

namespace Modal.Integration.Tests;

/// <summary>
/// An empty database of its own on the PostgreSQL server that MODAL_TEST_POSTGRES names (tests/run starts one),
/// dropped at dispose. Without MODAL_TEST_POSTGRES the test fails and says how to run it.
/// </summary>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    private readonly string _serverUrl;
    private readonly string _name;

    private PostgresTestDatabase(string serverUrl, string name)
    {
        _serverUrl = serverUrl;
        _name = name;
        Url = serverUrl[..(serverUrl.LastIndexOf('/') + 1)] + name;
    }

    /// <summary>The database's URL, as <c>--db</c> takes it.</summary>
    public string Url { get; }

    public static async Task<PostgresTestDatabase> CreateAsync()
    {
        string url = Environment.GetEnvironmentVariable("MODAL_TEST_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("MODAL_TEST_POSTGRES is not set, so the replica tests have no PostgreSQL. Run the tests with " +
                "tests/run, which installs and starts PostgreSQL and sets it, or set MODAL_TEST_POSTGRES=postgresql://USER@HOST:PORT/DB.");
        var database = new PostgresTestDatabase(url, $"modal_it_{Guid.NewGuid():N}"[..28]);
        await database.ExecuteAsync(url, $"CREATE DATABASE {database._name}");
        return database;
    }

    /// <summary>The URL of the replica holding the leader lease now, or null.</summary>
    public async Task<string?> LeaderUrlAsync()
    {
        await using var connection = await OpenAsync(Url);
        await using var command = new NpgsqlCommand(
            "SELECT r.url FROM leader l JOIN replicas r ON r.id = l.holder WHERE l.expires_ms > (extract(epoch from clock_timestamp()) * 1000)::bigint", connection);
        return await command.ExecuteScalarAsync() as string;
    }

    private static async Task<NpgsqlConnection> OpenAsync(string url)
    {
        var uri = new Uri(url);
        string[] user = Uri.UnescapeDataString(uri.UserInfo).Split(':', 2);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host, Port = uri.Port, Username = user[0], Password = user.Length > 1 ? user[1] : null,
            Database = uri.AbsolutePath.TrimStart('/'), Pooling = false,
        };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private async Task ExecuteAsync(string url, string sql)
    {
        await using var connection = await OpenAsync(url);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync() =>
        await ExecuteAsync(_serverUrl, $"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");
}
