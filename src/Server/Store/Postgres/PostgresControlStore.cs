using Npgsql;

namespace Modal.Server.Store;

/// <summary>
/// The PostgreSQL store, for one or several replicas on one database. Every state transition is one transaction on a
/// pooled connection of one <see cref="NpgsqlDataSource"/>; claims take ready inputs with <c>FOR UPDATE SKIP LOCKED</c>,
/// so replicas claiming from the same function never block each other or take an input twice; fencing (holder and
/// attempt) is checked on the locked rows; a call's output sequence numbers are taken under its row lock, so they
/// commit in sequence order and a reader never skips one. Rows are locked in one order (apps, inputs, calls,
/// containers, functions) so that operations do not deadlock; a deadlock or serialization failure that happens anyway
/// is retried from the start. Leases, deadlines and every stored time are the database's clock (<c>now()</c>), which
/// all replicas share; <see cref="NowMs"/> is that clock read at open and advanced by the local monotonic clock.
/// Changes reach other replicas' waiters through LISTEN/NOTIFY; waiters poll as well, so a lost notification only
/// delays them.
/// </summary>
internal sealed partial class PostgresControlStore : IControlStore
{
    private const int MaxAttempts = 6;
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresClock _clock;
    private readonly PostgresListener _listener;
    private readonly PostgresLogRelay _logs;
    private long _transactionCount;
    private long _retriedTransactionCount;

    private PostgresControlStore(NpgsqlDataSource dataSource, PostgresClock clock, NpgsqlConnectionStringBuilder listenerConnection)
    {
        _dataSource = dataSource;
        _clock = clock;
        _logs = new PostgresLogRelay(dataSource, Signals);
        _listener = new PostgresListener(listenerConnection.ConnectionString, Signals, clock, _logs);
    }

    public void RelayLogs(string appId, IReadOnlyList<Modal.Api.LogLine> lines) => _logs.Send(appId, lines);

    /// <summary>
    /// Opens the database at <paramref name="url"/> (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE), applies the
    /// migrations it lacks and starts listening for other replicas' changes. When no replica holds the leader lease
    /// (every replica was down), live containers get <paramref name="restartGraceMs"/> to heartbeat again, as their
    /// workers could not while no server ran.
    /// </summary>
    public static async Task<PostgresControlStore> OpenAsync(string url, TimeProvider? time = null, long restartGraceMs = 30_000,
        CancellationToken cancellationToken = default)
    {
        var builder = PostgresUrl.Parse(url);
        builder.ApplicationName ??= "modal-server";
        builder.MaxAutoPrepare = 128;
        builder.AutoPrepareMinUsages = 2;
        var listenerConnection = new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false, KeepAlive = 15 };
        var dataSource = NpgsqlDataSource.Create(builder);
        try
        {
            await PostgresSchema.MigrateAsync(dataSource, cancellationToken).ConfigureAwait(false);
            var clock = new PostgresClock(time ?? TimeProvider.System);
            await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
            {
                await clock.SyncAsync(connection, cancellationToken).ConfigureAwait(false);
            }
            var store = new PostgresControlStore(dataSource, clock, listenerConnection);
            try
            {
                await store.GraceAfterFullRestartAsync(restartGraceMs).ConfigureAwait(false);
                await store._listener.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await store.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            return store;
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public string Kind => "postgresql";

    public long TransactionCount => Interlocked.Read(ref _transactionCount);

    /// <summary>
    /// Transactions rolled back by a deadlock or serialization failure and run again. Every transaction takes its row
    /// locks in one order, so this stays 0; anything else is a bug to fix (each deadlock costs a second of waiting).
    /// </summary>
    public long RetriedTransactionCount => Interlocked.Read(ref _retriedTransactionCount);

    public long NowMs => _clock.NowMs;

    public StoreSignals Signals { get; } = new();

    private Task GraceAfterFullRestartAsync(long restartGraceMs) => WriteAsync(async tx =>
    {
        const string NoLeader = "NOT EXISTS (SELECT 1 FROM leader WHERE expires_ms >= modal_now_ms())";
        await tx.ExecuteBatchAsync([
            ($"UPDATE containers SET lease_expires_ms = modal_now_ms() + $1 WHERE {NoLeader} AND lease_expires_ms < modal_now_ms() + $1",
                [restartGraceMs]),
            ($"UPDATE containers SET startup_deadline_ms = modal_now_ms() + $1 WHERE {NoLeader} AND NOT said_hello " +
                "AND startup_deadline_ms < modal_now_ms() + $1", [restartGraceMs]),
            ($"UPDATE apps SET heartbeat_ms = modal_now_ms() WHERE {NoLeader} AND NOT stopped", []),
        ]).ConfigureAwait(false);
        return true;
    });

    // ---- Transactions ----------------------------------------------------------------------------------------------

    /// <summary>
    /// Runs a state transition in one transaction and returns its result after the commit, then signals. A deadlock
    /// or serialization failure rolls everything back and runs the transition again.
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<PostgresTx, Task<T>> operation)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
                await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
                var tx = new PostgresTx(connection, transaction);
                T result = await operation(tx).ConfigureAwait(false);
                if (tx.ChangedCalls.Count > 0 || tx.WorkReady)
                {
                    // Delivered by PostgreSQL at commit, and only if it commits.
                    tx.Defer(
                        $"SELECT pg_notify('{PostgresListener.CallChannel}', id) FROM unnest($1::text[]) AS id " +
                        $"UNION ALL SELECT pg_notify('{PostgresListener.WorkChannel}', '') WHERE $2",
                        tx.ChangedCalls.ToArray(), tx.WorkReady);
                }
                await tx.FlushAsync().ConfigureAwait(false);
                await transaction.CommitAsync().ConfigureAwait(false);
                Interlocked.Increment(ref _transactionCount);
                foreach (string callId in tx.ChangedCalls)
                {
                    Signals.CallChanged(callId);
                }
                if (tx.WorkReady)
                {
                    Signals.WorkReady();
                }
                foreach (long delay in tx.WorkReadyAfter)
                {
                    Signals.WorkReadyAfter(delay);
                }
                return result;
            }
            catch (PostgresException exception) when (attempt < MaxAttempts &&
                exception.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                Interlocked.Increment(ref _retriedTransactionCount);
                await Task.Delay(Random.Shared.Next(1, 5 * attempt)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs a read (each statement sees a committed snapshot; reads that must agree are one statement).</summary>
    private async Task<T> ReadAsync<T>(Func<PostgresTx, Task<T>> read)
    {
        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        return await read(new PostgresTx(connection, null)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync().ConfigureAwait(false);
        await _logs.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }
}
