using Npgsql;

namespace Modal.Server.Store;

/// <summary>
/// Relays other replicas' changes to this replica's waiters: LISTEN on one dedicated connection (not pooled), a channel
/// per purpose: <see cref="WorkChannel"/> (inputs may be ready) and <see cref="CallChannel"/> (a call changed; the payload
/// is its id), and <see cref="PostgresLogRelay.Channel"/> (another replica's log lines). After a reconnect every waiter is woken, as notifications sent meanwhile are lost. While idle it keeps
/// the connection alive and re-reads the database's clock.
/// </summary>
internal sealed class PostgresListener(string connectionString, StoreSignals signals, PostgresClock clock, PostgresLogRelay logs) : IAsyncDisposable
{
    public const string WorkChannel = "modal_work_ready";
    public const string CallChannel = "modal_call_changed";
    private static readonly TimeSpan IdleRefresh = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;

    /// <summary>Starts listening; completes once the first LISTEN is in place (or throws why it could not be).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(LoopAsync, CancellationToken.None);
        await _listening.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        var delay = TimeSpan.FromMilliseconds(100);
        bool reconnecting = false;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(_stop.Token).ConfigureAwait(false);
                connection.Notification += (_, notification) =>
                {
                    if (notification.Channel == CallChannel)
                    {
                        signals.CallChanged(notification.Payload);
                    }
                    else if (notification.Channel == WorkChannel)
                    {
                        signals.WorkReady();
                    }
                    else if (notification.Channel == PostgresLogRelay.Channel)
                    {
                        logs.Receive(notification.Payload);
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {WorkChannel}; LISTEN {CallChannel}; LISTEN {PostgresLogRelay.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(_stop.Token).ConfigureAwait(false);
                }
                _listening.TrySetResult();
                if (reconnecting)
                {
                    signals.AllCallsChanged();
                    signals.WorkReady();
                }
                delay = TimeSpan.FromMilliseconds(100);
                while (!_stop.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(IdleRefresh, _stop.Token).ConfigureAwait(false))
                    {
                        await clock.SyncAsync(connection, _stop.Token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                if (!_listening.Task.IsCompleted)
                {
                    _listening.TrySetException(exception);
                    return;
                }
                reconnecting = true;
                try
                {
                    await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // It already reported its failure through StartAsync.
        }
        _stop.Dispose();
    }
}
