using Modal.Server.Store;
using Npgsql;

namespace Modal.Server.Tests.StoreContract;

/// <summary>
/// A database of its own on the server that MODAL_TEST_POSTGRES names (tests/run starts one), created for one test
/// class and dropped after it. Without MODAL_TEST_POSTGRES the tests fail and say how to run them.
/// </summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    public const string Variable = "MODAL_TEST_POSTGRES";
    private string _serverUrl = "";
    private string _name = "";

    /// <summary>The URL of this class's database.</summary>
    public string Url { get; private set; } = "";

    public async Task InitializeAsync()
    {
        string? url = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(url))
        {
            throw new InvalidOperationException(
                $"{Variable} is not set, so the PostgreSQL store tests have no server. Run the tests with tests/run, which installs " +
                $"and starts PostgreSQL and sets it, or set {Variable}=postgresql://USER@HOST:PORT/DATABASE to a server of your own.");
        }
        _serverUrl = url;
        _name = $"modal_test_{Guid.NewGuid():N}"[..30];
        await ExecuteOnServerAsync($"CREATE DATABASE {_name}");
        Url = url[..(url.LastIndexOf('/') + 1)] + _name;
    }

    private readonly List<string> _extra = [];

    /// <summary>Creates one more empty database (dropped with this one) and returns its URL.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        string name = $"modal_test_{Guid.NewGuid():N}"[..30];
        await ExecuteOnServerAsync($"CREATE DATABASE {name}");
        _extra.Add(name);
        return _serverUrl[..(_serverUrl.LastIndexOf('/') + 1)] + name;
    }

    /// <summary>Empties every table (the schema stays), so that each test starts from nothing.</summary>
    public async Task EmptyAsync()
    {
        var builder = PostgresUrl.Parse(Url);
        builder.Pooling = false;
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            // Every table a migration made, so that a table added later is emptied too.
            "DO $$ DECLARE tables text; BEGIN SELECT string_agg(quote_ident(tablename), ', ') INTO tables FROM pg_tables " +
            "WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'; " +
            "IF tables IS NOT NULL THEN EXECUTE 'TRUNCATE ' || tables; END IF; END $$", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs a statement on the server's own database (outside this class's).</summary>
    public async Task ExecuteOnServerAsync(string sql)
    {
        var builder = PostgresUrl.Parse(_serverUrl);
        builder.Pooling = false;
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        if (_name.Length > 0)
        {
            NpgsqlConnection.ClearAllPools();
            foreach (string name in _extra.Append(_name))
            {
                await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            }
        }
    }
}
