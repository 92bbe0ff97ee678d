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

    /// <summary>The most rows one multi-row INSERT carries.</summary>
    internal const int MaxRowsPerInsert = 64;

    private readonly Dictionary<(string Table, string Columns, int Rows), string> _insertSql = [];

    /// <summary>
    /// Inserts <paramref name="rows"/> (each the values of <paramref name="columns"/>, in order) with one statement per
    /// <see cref="MaxRowsPerInsert"/> rows rather than one per row: <c>INSERT INTO table(columns) VALUES (...), (...)</c>.
    /// </summary>
    public void InsertRows(string table, string columns, int columnCount, IReadOnlyList<object?[]> rows)
    {
        for (int start = 0; start < rows.Count; start += MaxRowsPerInsert)
        {
            int count = Math.Min(MaxRowsPerInsert, rows.Count - start);
            if (!_insertSql.TryGetValue((table, columns, count), out string? sql))
            {
                var text = new System.Text.StringBuilder($"INSERT INTO {table}({columns}) VALUES ");
                for (int row = 0; row < count; row++)
                {
                    text.Append(row == 0 ? "(" : ", (");
                    for (int column = 0; column < columnCount; column++)
                    {
                        text.Append(column == 0 ? "$" : ", $").Append(row * columnCount + column + 1);
                    }
                    text.Append(')');
                }
                sql = text.ToString();
                _insertSql[(table, columns, count)] = sql;
            }
            var values = new object?[count * columnCount];
            for (int row = 0; row < count; row++)
            {
                rows[start + row].CopyTo(values, row * columnCount);
            }
            Execute(sql, values);
        }
    }

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
