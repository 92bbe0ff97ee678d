using System.Threading.Channels;
using Google.Protobuf;
using Modal.Api;
using Npgsql;

namespace Modal.Server.Store;

/// <summary>
/// Carries container log lines between replicas: a worker sends its lines to one replica, and a log subscriber may be
/// on another. Lines go out as NOTIFY payloads on <see cref="Channel"/>, batched by a background loop (one round trip
/// per batch, whatever the number of notifications), never blocking a worker; like live logs on one replica, lines a
/// full queue or a lost connection drops are gone. Each payload is <c>RELAY APP BASE64</c>: this relay's id (its own
/// notifications come back to it and are skipped), the app id, and the lines as length-delimited LogLine messages.
/// </summary>
internal sealed class PostgresLogRelay : IAsyncDisposable
{
    public const string Channel = "modal_logs";

    /// <summary>NOTIFY payloads must stay under 8,000 bytes; base64 grows the lines by a third.</summary>
    private const int MaxEncodedLinesBytes = 5_600;

    /// <summary>
    /// A longer line is cut for the relay (its replica's own subscribers get all of it): at up to 3 UTF-8 bytes a
    /// character, it fits one payload.
    /// </summary>
    private const int MaxRelayedTextChars = 1_800;

    private const int QueueCapacity = 10_000;
    private readonly string _relayId = Guid.NewGuid().ToString("N");
    private readonly NpgsqlDataSource _dataSource;
    private readonly StoreSignals _signals;
    private readonly Channel<(string AppId, LogLine Line)> _queue =
        System.Threading.Channels.Channel.CreateBounded<(string, LogLine)>(new BoundedChannelOptions(QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
    private readonly Task _sending;

    public PostgresLogRelay(NpgsqlDataSource dataSource, StoreSignals signals)
    {
        _dataSource = dataSource;
        _signals = signals;
        _sending = Task.Run(SendLoopAsync);
    }

    /// <summary>Queues lines for the other replicas.</summary>
    public void Send(string appId, IReadOnlyList<LogLine> lines)
    {
        foreach (var line in lines)
        {
            _queue.Writer.TryWrite((appId, line));
        }
    }

    /// <summary>Hands lines another replica sent to this process's subscribers (called by the listener).</summary>
    public void Receive(string payload)
    {
        var parts = payload.Split(' ', 3);
        if (parts.Length != 3 || parts[0] == _relayId)
        {
            return;
        }
        var lines = new List<LogLine>();
        using var stream = new MemoryStream(Convert.FromBase64String(parts[2]));
        while (stream.Position < stream.Length)
        {
            lines.Add(LogLine.Parser.ParseDelimitedFrom(stream));
        }
        _signals.LogsRelayed(parts[1], lines);
    }

    private async Task SendLoopAsync()
    {
        var payloads = new List<string>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            payloads.Clear();
            Encode(payloads);
            try
            {
                await using var command = _dataSource.CreateCommand($"SELECT pg_notify('{Channel}', p) FROM unnest($1::text[]) AS p");
                command.Parameters.Add(new NpgsqlParameter { Value = payloads.ToArray() });
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // The database is unreachable right now (or the batch failed otherwise): these lines are lost to other
                // replicas, as live logs may be, and the loop goes on with the next lines rather than ending the relay.
            }
        }
    }

    /// <summary>Turns what is queued now into payloads, one app per payload, each under the NOTIFY limit.</summary>
    private void Encode(List<string> payloads)
    {
        var byApp = new Dictionary<string, MemoryStream>(StringComparer.Ordinal);
        while (_queue.Reader.TryRead(out var item))
        {
            var line = item.Line.Text.Length <= MaxRelayedTextChars ? item.Line : Cut(item.Line);
            if (!byApp.TryGetValue(item.AppId, out var buffer))
            {
                byApp[item.AppId] = buffer = new MemoryStream();
            }
            int size = line.CalculateSize();
            if (buffer.Length > 0 && buffer.Length + size + 5 > MaxEncodedLinesBytes)
            {
                payloads.Add(Payload(item.AppId, buffer));
                buffer.SetLength(0);
            }
            line.WriteDelimitedTo(buffer);
        }
        foreach (var (appId, buffer) in byApp)
        {
            if (buffer.Length > 0)
            {
                payloads.Add(Payload(appId, buffer));
            }
        }
    }

    private static LogLine Cut(LogLine line)
    {
        int length = char.IsHighSurrogate(line.Text[MaxRelayedTextChars - 1]) ? MaxRelayedTextChars - 1 : MaxRelayedTextChars;
        return new LogLine(line) { Text = line.Text[..length] + " [cut at 1,800 characters on its way from another replica]" };
    }

    private string Payload(string appId, MemoryStream lines) =>
        $"{_relayId} {appId} {Convert.ToBase64String(lines.GetBuffer(), 0, (int)lines.Length)}";

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _sending.ConfigureAwait(false);
    }
}
