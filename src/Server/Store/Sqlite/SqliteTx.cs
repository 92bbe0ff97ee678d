using Microsoft.Data.Sqlite;

namespace Modal.Server.Store;

/// <summary>
/// Commands on one SQLite connection, prepared once and reused, bound positionally ($1, $2, …), inside the current
/// transaction. Used by the writer (one batch at a time) and by readers (each its own connection).
/// </summary>
internal sealed class SqliteTx(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public SqliteConnection Connection { get; } = connection;
    public SqliteTransaction? Transaction { get; set; }

    /// <summary>The outputs the current operation writes, flushed before its savepoint is released.</summary>
    public SqliteFinisher Finisher { get; } = new();

    private SqliteCommand Prepare(string sql, object?[] values)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            for (int i = 0; i < values.Length; i++)
            {
                command.Parameters.Add(new SqliteParameter("$" + (i + 1), null));
            }
            _commands[sql] = command;
        }
        command.Transaction = Transaction;
        for (int i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] switch
            {
                null => DBNull.Value,
                bool flag => flag ? 1 : 0,
                var value => value,
            };
        }
        return command;
    }

    public int Execute(string sql, params object?[] values) => Prepare(sql, values).ExecuteNonQuery();

    public T? Scalar<T>(string sql, params object?[] values)
    {
        object? value = Prepare(sql, values).ExecuteScalar();
        return value is null or DBNull ? default : (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T),
            System.Globalization.CultureInfo.InvariantCulture);
    }

    public List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params object?[] values)
    {
        var rows = new List<T>();
        using var reader = Prepare(sql, values).ExecuteReader();
        while (reader.Read())
        {
            rows.Add(map(reader));
        }
        return rows;
    }

    public T? Single<T>(string sql, Func<SqliteDataReader, T> map, params object?[] values) where T : class
    {
        using var reader = Prepare(sql, values).ExecuteReader();
        return reader.Read() ? map(reader) : null;
    }

    public static string? NullableString(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static byte[] Bytes(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? [] : (byte[])reader.GetValue(ordinal);

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }
        _commands.Clear();
        Connection.Dispose();
    }
}
