using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Modal.Server.Store;

/// <summary>
/// SQLite store. One connection (kept open for the store's life, which also keeps an in-memory database alive),
/// guarded by a lock. Writes go through one writer loop that drains whatever is queued and commits it in a single
/// transaction (group commit), then completes every caller's task.
/// </summary>
internal sealed partial class SqliteStore : IStore
{
    private readonly SqliteConnection _connection;
    private readonly object _gate = new();
    private readonly Channel<WriteOperation> _writes = Channel.CreateUnbounded<WriteOperation>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly Task _writerLoop;
    private SqliteTransaction? _currentTransaction;
    private long _transactionCount;

    private sealed record WriteOperation(Action<SqliteStore> Apply, TaskCompletionSource Done);

    /// <summary>Opens (creating if needed) the database; <paramref name="path"/> null means in memory.</summary>
    public SqliteStore(string? path)
    {
        string connectionString = path is null
            ? $"Data Source=file:modal-{Guid.NewGuid():N}?mode=memory&cache=shared"
            : new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        if (path is not null)
        {
            Execute("PRAGMA journal_mode=WAL;");
            Execute("PRAGMA synchronous=NORMAL;");
        }
        Execute(Schema);
        _writerLoop = Task.Run(WriterLoopAsync);
    }

    /// <inheritdoc/>
    public long TransactionCount => Interlocked.Read(ref _transactionCount);

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS apps(id TEXT PRIMARY KEY, name TEXT NOT NULL, kind INTEGER NOT NULL, state TEXT NOT NULL,
            created_ms INTEGER NOT NULL, launch BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS functions(id TEXT PRIMARY KEY, app_id TEXT NOT NULL, name TEXT NOT NULL, spec BLOB NOT NULL,
            warm_pool INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS calls(id TEXT PRIMARY KEY, function_id TEXT NOT NULL, invocation INTEGER NOT NULL,
            parent_input_id TEXT, is_generator INTEGER NOT NULL, created_ms INTEGER NOT NULL, expired INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS inputs(id TEXT PRIMARY KEY, call_id TEXT NOT NULL, function_id TEXT NOT NULL, idx INTEGER NOT NULL,
            args BLOB NOT NULL, status INTEGER NOT NULL, attempt INTEGER NOT NULL, retries_used INTEGER NOT NULL,
            internal_failures INTEGER NOT NULL, parent_input_id TEXT);
        CREATE INDEX IF NOT EXISTS inputs_by_call ON inputs(call_id);
        CREATE INDEX IF NOT EXISTS inputs_by_parent ON inputs(parent_input_id);
        CREATE INDEX IF NOT EXISTS inputs_pending ON inputs(status) WHERE status = 0;
        CREATE TABLE IF NOT EXISTS outputs(cursor INTEGER PRIMARY KEY AUTOINCREMENT, call_id TEXT NOT NULL, input_id TEXT NOT NULL,
            idx INTEGER NOT NULL, result BLOB NOT NULL, created_ms INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS outputs_by_call ON outputs(call_id, cursor);
        CREATE TABLE IF NOT EXISTS chunks(call_id TEXT NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(call_id, idx));
        CREATE TABLE IF NOT EXISTS blobs(id TEXT PRIMARY KEY, size INTEGER NOT NULL, created_ms INTEGER NOT NULL);
        """;

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A prepared command reused for the store's life; callers hold <see cref="_gate"/>.</summary>
    private SqliteCommand Command(string sql, params string[] parameterNames)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = _connection.CreateCommand();
            command.CommandText = sql;
            foreach (string name in parameterNames)
            {
                command.Parameters.Add(new SqliteParameter(name, null));
            }
            _commands[sql] = command;
        }
        command.Transaction = _currentTransaction;
        return command;
    }

    private static void Bind(SqliteCommand command, params object?[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }

    private Task EnqueueAsync(Action<SqliteStore> apply)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_writes.Writer.TryWrite(new WriteOperation(apply, done)))
        {
            done.SetException(new ObjectDisposedException(nameof(SqliteStore)));
        }
        return done.Task;
    }

    private async Task WriterLoopAsync()
    {
        var batch = new List<WriteOperation>();
        while (await _writes.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < 100_000 && _writes.Reader.TryRead(out var operation))
            {
                batch.Add(operation);
            }
            Exception? failure = null;
            lock (_gate)
            {
                try
                {
                    using var transaction = _connection.BeginTransaction();
                    _currentTransaction = transaction;
                    foreach (var operation in batch)
                    {
                        operation.Apply(this);
                    }
                    transaction.Commit();
                    Interlocked.Increment(ref _transactionCount);
                }
                catch (Exception exception)
                {
                    failure = exception;
                }
                finally
                {
                    _currentTransaction = null;
                }
            }
            foreach (var operation in batch)
            {
                if (failure is null) operation.Done.TrySetResult();
                else operation.Done.TrySetException(failure);
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _writes.Writer.TryComplete();
        await _writerLoop.ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }
            _commands.Clear();
            _connection.Dispose();
        }
    }
}
