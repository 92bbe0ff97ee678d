using Npgsql;

namespace Modal.Server.Store;

/// <summary>
/// Commands on one PostgreSQL connection inside the current transaction (or autocommit when there is none), bound
/// positionally ($1, $2, …), plus what the transaction wants signalled once it commits: the calls it changed and
/// whether work may be ready. Signals go to other replicas as NOTIFY (sent inside the transaction, so PostgreSQL
/// delivers them only if it commits) and to this replica's waiters after the commit.
/// </summary>
internal sealed class PostgresTx(NpgsqlConnection connection, NpgsqlTransaction? transaction)
{
    public HashSet<string> ChangedCalls { get; } = new(StringComparer.Ordinal);
    public bool WorkReady { get; set; }

    /// <summary>Delays after which retried inputs become ready (signalled on this replica; others poll).</summary>
    public List<long> WorkReadyAfter { get; } = [];

    private readonly List<(string Sql, object?[] Values)> _deferred = [];

    /// <summary>
    /// Queues a statement whose result the operation does not need (writes to rows it already locked, inserts of new
    /// rows); deferred statements run in order in the last round trip before the commit, with the counters.
    /// </summary>
    public void Defer(string sql, params object?[] values) => _deferred.Add((sql, values));

    /// <summary>Changes to containers' running counts, applied by <see cref="FlushAsync"/> before the commit.</summary>
    private readonly SortedDictionary<string, int> _containerSlots = new(StringComparer.Ordinal);

    /// <summary>Changes to functions' ready, running and backlog-bytes counters, applied likewise.</summary>
    private readonly SortedDictionary<string, (long Ready, long Running, long Bytes)> _functionCounters = new(StringComparer.Ordinal);

    /// <summary>Counts <paramref name="delta"/> slots into a container's running count (idle from the commit when it reaches 0).</summary>
    public void CountSlots(string containerId, int delta) =>
        _containerSlots[containerId] = _containerSlots.GetValueOrDefault(containerId) + delta;

    public void CountFunction(string functionId, long ready, long running, long bytes)
    {
        var current = _functionCounters.GetValueOrDefault(functionId);
        _functionCounters[functionId] = (current.Ready + ready, current.Running + running, current.Bytes + bytes);
    }

    /// <summary>
    /// Runs the deferred statements and applies the counted changes in one round trip; containers before functions and
    /// each in id order: the last locks an operation takes, always in the same order, so that operations on the same
    /// rows queue instead of deadlocking. The row locks are the ones an update takes (no key update): a foreign key's
    /// share lock on a row does not hold them up.
    /// </summary>
    public async Task FlushAsync()
    {
        var statements = new List<(string, object?[])>(_deferred);
        _deferred.Clear();
        if (_containerSlots.Count > 0)
        {
            statements.Add((
                "WITH locked AS (SELECT id FROM containers WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE) " +
                "UPDATE containers c SET running = c.running + t.delta, " +
                "idle_since_ms = CASE WHEN t.delta < 0 AND c.running + t.delta <= 0 THEN modal_now_ms() ELSE c.idle_since_ms END " +
                "FROM locked JOIN unnest($1::text[], $2::int[]) AS t(id, delta) ON t.id = locked.id WHERE c.id = locked.id",
                [_containerSlots.Keys.ToArray(), _containerSlots.Values.ToArray()]));
        }
        if (_functionCounters.Count > 0)
        {
            statements.Add((
                "WITH locked AS (SELECT id FROM functions WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE) " +
                "UPDATE functions f SET ready = f.ready + t.ready, running = f.running + t.running, backlog_bytes = f.backlog_bytes + t.bytes " +
                "FROM locked JOIN unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS t(id, ready, running, bytes) ON t.id = locked.id " +
                "WHERE f.id = locked.id",
                [_functionCounters.Keys.ToArray(), _functionCounters.Values.Select(v => v.Ready).ToArray(),
                    _functionCounters.Values.Select(v => v.Running).ToArray(), _functionCounters.Values.Select(v => v.Bytes).ToArray()]));
        }
        _containerSlots.Clear();
        _functionCounters.Clear();
        await ExecuteBatchAsync(statements).ConfigureAwait(false);
    }

    private NpgsqlCommand Command(string sql, object?[] values)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (object? value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        return command;
    }

    public async Task<int> ExecuteAsync(string sql, params object?[] values)
    {
        await using var command = Command(sql, values);
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    public async Task<T?> ScalarAsync<T>(string sql, params object?[] values)
    {
        await using var command = Command(sql, values);
        object? value = await command.ExecuteScalarAsync().ConfigureAwait(false);
        return value is null or DBNull ? default : (T)value;
    }

    public async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> map, params object?[] values)
    {
        await using var command = Command(sql, values);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        var rows = new List<T>();
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            rows.Add(map(reader));
        }
        return rows;
    }

    public async Task<T?> SingleAsync<T>(string sql, Func<NpgsqlDataReader, T> map, params object?[] values) where T : class
    {
        var rows = await QueryAsync(sql, map, values).ConfigureAwait(false);
        return rows.Count > 0 ? rows[0] : null;
    }

    /// <summary>Runs several statements in one round trip, in order.</summary>
    public async Task ExecuteBatchAsync(IEnumerable<(string Sql, object?[] Values)> statements)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var (sql, values) in statements)
        {
            var command = new NpgsqlBatchCommand(sql);
            foreach (object? value in values)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
            }
            batch.BatchCommands.Add(command);
        }
        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }

    public static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static byte[] Bytes(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? [] : reader.GetFieldValue<byte[]>(ordinal);
}
