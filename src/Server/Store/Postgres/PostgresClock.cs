using Npgsql;

namespace Modal.Server.Store;

/// <summary>
/// The database's clock as seen from this process: read from PostgreSQL, then advanced by the local monotonic clock
/// between reads, so that <see cref="IControlStore.NowMs"/> costs no round trip and a local wall-clock jump moves nothing.
/// The listener re-reads it while idle, so drift between the two clocks stays small.
/// </summary>
internal sealed class PostgresClock(TimeProvider time)
{
    private readonly Lock _lock = new();
    private long _anchorUnixMs;
    private long _anchorTimestamp;

    public long NowMs
    {
        get
        {
            lock (_lock)
            {
                return _anchorUnixMs + (long)time.GetElapsedTime(_anchorTimestamp).TotalMilliseconds;
            }
        }
    }

    /// <summary>Reads the database's clock on <paramref name="connection"/> (outside any transaction: clock_timestamp()).</summary>
    public async Task SyncAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        long before = time.GetTimestamp();
        await using var command = new NpgsqlCommand("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint", connection);
        long databaseMs = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        // The database read its clock about halfway through the round trip.
        long halfTrip = (long)(time.GetElapsedTime(before).TotalMilliseconds / 2);
        lock (_lock)
        {
            _anchorUnixMs = databaseMs + halfTrip;
            _anchorTimestamp = time.GetTimestamp();
        }
    }
}
