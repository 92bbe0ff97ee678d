using Microsoft.Data.Sqlite;

namespace Modal.Server.Store;

/// <summary>
/// The SQLite store: a file in WAL mode (for an ephemeral embedded run, a temporary file deleted at dispose). One
/// writer connection runs every state transition, one batch at a time, each batch one transaction (group commit): the
/// first operation to arrive while the writer is idle commits on its caller's thread with no hand-off, and whatever
/// queues meanwhile is committed as the next batch by a thread-pool item (<see cref="SqliteWriteQueue"/>). Each
/// operation runs inside its own savepoint, so one that throws is rolled back alone and fails alone, and the others
/// commit (an operation alone in its batch needs no savepoint: the transaction is its own, and is rolled back when it
/// throws). Results are handed back only after the commit; signals follow. Reads run on their own connections (WAL
/// readers never block the writer).
/// </summary>
internal sealed partial class SqliteControlStore : IControlStore
{
    private readonly string _path;
    private readonly bool _temporary;
    private readonly string _readConnectionString;
    private readonly SqliteTx _writer;
    private readonly SqliteWriteQueue _writes;
    private readonly StoreClock _clock;
    private readonly Stack<SqliteTx> _readers = new();
    /// <summary>The signals of the batch being committed, raised once it has committed (used by the one committing thread only).</summary>
    private readonly List<Action<StoreSignals>> _afterCommit = [];
    private long _transactionCount;

    /// <summary>Opens (creating and migrating if needed) the database; <paramref name="path"/> null: a temporary file.</summary>
    public SqliteControlStore(string? path, TimeProvider? time = null, long restartGraceMs = 30_000)
    {
        _clock = new StoreClock(time ?? TimeProvider.System);
        _temporary = path is null;
        _path = path ?? Path.Combine(Path.GetTempPath(), $"modal-{Guid.NewGuid():N}.db");
        var builder = new SqliteConnectionStringBuilder { DataSource = _path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false };
        var writer = new SqliteConnection(builder.ToString());
        writer.Open();
        _writer = new SqliteTx(writer);
        _writer.Execute("PRAGMA journal_mode=WAL;");
        // An ephemeral run needs no durability; a server file survives a process crash with NORMAL in WAL mode.
        _writer.Execute(_temporary ? "PRAGMA synchronous=OFF;" : "PRAGMA synchronous=NORMAL;");
        _writer.Execute("PRAGMA busy_timeout=5000;");
        KeepTemporaryDataInMemory(_writer);
        Migrate();
        // Workers could not heartbeat while the server was down: give every live container a fresh lease.
        long now = NowMs;
        _writer.Execute("UPDATE containers SET lease_expires_ms = $1 WHERE lease_expires_ms IS NOT NULL AND lease_expires_ms < $1", now + restartGraceMs);
        _writer.Execute("UPDATE containers SET startup_deadline_ms = $1 WHERE said_hello = 0 AND startup_deadline_ms < $1", now + restartGraceMs);
        _writer.Execute("UPDATE apps SET heartbeat_ms = $1 WHERE stopped = 0", now);
        builder.Mode = SqliteOpenMode.ReadOnly;
        _readConnectionString = builder.ToString();
        _writes = new SqliteWriteQueue(CommitBatch);
    }

    public string Kind => "sqlite";

    public long TransactionCount => Interlocked.Read(ref _transactionCount);

    public long NowMs => _clock.NowMs;

    public StoreSignals Signals { get; } = new();

    /// <summary>One process holds a SQLite store, so there is no other replica to hand log lines to.</summary>
    public void RelayLogs(string appId, IReadOnlyList<Modal.Api.LogLine> lines)
    {
    }

    private void Migrate()
    {
        _writer.Execute("CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)");
        long applied = _writer.Scalar<long?>("SELECT MAX(version) FROM schema_migrations") ?? 0;
        for (int version = (int)applied + 1; version <= SqliteSchema.Migrations.Count; version++)
        {
            using var transaction = _writer.Connection.BeginTransaction();
            _writer.Transaction = transaction;
            _writer.Execute(SqliteSchema.Migrations[version - 1]);
            _writer.Execute("INSERT INTO schema_migrations(version, applied_ms) VALUES($1, $2)", version, NowMs);
            transaction.Commit();
            _writer.Transaction = null;
        }
    }

    // ---- The writer ------------------------------------------------------------------------------------------------

    private sealed class Write<T>(Func<SqliteTx, long, List<Action<StoreSignals>>, T> apply) : SqliteWriteQueue.IWrite
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _error;

        public Task<T> Task => _done.Task;

        public bool Apply(SqliteTx tx, long now, List<Action<StoreSignals>> afterCommit, bool alone)
        {
            int before = afterCommit.Count;
            if (!alone)
            {
                tx.Execute("SAVEPOINT op");
            }
            try
            {
                _result = apply(tx, now, afterCommit);
                tx.Finisher.Flush(tx, now, afterCommit);
                if (!alone)
                {
                    tx.Execute("RELEASE op");
                }
                return true;
            }
            catch (Exception exception)
            {
                tx.Finisher.Discard();
                if (!alone)
                {
                    tx.Execute("ROLLBACK TO op");
                    tx.Execute("RELEASE op");
                }
                afterCommit.RemoveRange(before, afterCommit.Count - before);
                _error = exception;
                return false;
            }
        }

        public void Complete(Exception? failure)
        {
            if (failure is not null) _done.TrySetException(failure);
            else if (_error is not null) _done.TrySetException(_error);
            else _done.TrySetResult(_result!);
        }
    }

    /// <summary>Queues a state transition; the task completes after the transaction holding it commits.</summary>
    private Task<T> WriteAsync<T>(Func<SqliteTx, long, List<Action<StoreSignals>>, T> apply)
    {
        var write = new Write<T>(apply);
        return _writes.TryEnqueue(write) ? write.Task : Task.FromException<T>(new ObjectDisposedException(nameof(SqliteControlStore)));
    }

    /// <summary>Commits one batch in one transaction (only ever one batch at a time), then completes it and raises its signals.</summary>
    private void CommitBatch(List<SqliteWriteQueue.IWrite> batch)
    {
        _afterCommit.Clear();
        Exception? failure = null;
        try
        {
            using var transaction = _writer.Connection.BeginTransaction();
            _writer.Transaction = transaction;
            long now = NowMs;
            bool alone = batch.Count == 1;
            bool applied = true;
            foreach (var write in batch)
            {
                applied &= write.Apply(_writer, now, _afterCommit, alone);
            }
            if (alone && !applied)
            {
                // Its own failure (not the batch's) goes to the caller: nothing of it is kept.
                transaction.Rollback();
            }
            else
            {
                transaction.Commit();
                Interlocked.Increment(ref _transactionCount);
            }
        }
        catch (Exception exception)
        {
            failure = exception;
        }
        finally
        {
            _writer.Transaction = null;
        }
        foreach (var write in batch)
        {
            write.Complete(failure);
        }
        if (failure is null)
        {
            foreach (var signal in _afterCommit)
            {
                signal(Signals);
            }
        }
    }

    /// <summary>
    /// Temporary tables (an UPDATE ... RETURNING's rows, a sort) in memory rather than in a temporary file: with a file, the
    /// claim's UPDATE ... RETURNING took 74 µs against 7 µs once the database outgrew its page cache (a 20,000-row table).
    /// What they hold is bounded by one statement's rows.
    /// </summary>
    private static void KeepTemporaryDataInMemory(SqliteTx connection) => connection.Execute("PRAGMA temp_store=MEMORY;");

    /// <summary>How many times SQLite has compiled a cached statement of the writer or of an idle reader again (zero when every plan is fixed).</summary>
    internal async Task<int> StatementsRecompiledAsync()
    {
        int total = await WriteAsync((tx, _, _) => tx.StatementsRecompiled()).ConfigureAwait(false);
        lock (_readers)
        {
            foreach (var reader in _readers)
            {
                total += reader.StatementsRecompiled();
            }
        }
        return total;
    }

    // ---- Reads -----------------------------------------------------------------------------------------------------

    /// <summary>Runs a read on a pooled read-only connection (a consistent snapshot per statement batch).</summary>
    private Task<T> ReadAsync<T>(Func<SqliteTx, T> read)
    {
        SqliteTx? reader;
        lock (_readers)
        {
            _readers.TryPop(out reader);
        }
        if (reader is null)
        {
            var connection = new SqliteConnection(_readConnectionString);
            connection.Open();
            reader = new SqliteTx(connection);
            reader.Execute("PRAGMA busy_timeout=5000;");
            KeepTemporaryDataInMemory(reader);
        }
        try
        {
            using var transaction = reader.Connection.BeginTransaction(deferred: true);
            reader.Transaction = transaction;
            var result = read(reader);
            transaction.Commit();
            return Task.FromResult(result);
        }
        finally
        {
            reader.Transaction = null;
            lock (_readers)
            {
                if (_readers.Count < 8) _readers.Push(reader);
                else reader.Dispose();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _writes.CompleteAsync().ConfigureAwait(false);
        lock (_readers)
        {
            while (_readers.TryPop(out var reader))
            {
                reader.Dispose();
            }
        }
        _writer.Dispose();
        SqliteConnection.ClearAllPools();
        if (_temporary)
        {
            foreach (string file in new[] { _path, _path + "-wal", _path + "-shm" })
            {
                try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }
}
