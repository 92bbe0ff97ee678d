using System.Threading.Channels;
using Modal.Api;
using Modal.Server.Store;

namespace Modal.Server.Services;

/// <summary>
/// Fans container log lines out to AppGetLogs subscribers; a slow subscriber loses its oldest lines, never blocks a
/// worker. Lines a worker sends to this replica also go to the other replicas on the same database (through the
/// store), and theirs come here, so a subscriber on any replica sees every line of the app.
/// </summary>
internal sealed class LogHub
{
    private readonly IControlStore _store;

    public LogHub(IControlStore store)
    {
        _store = store;
        store.Signals.LogsArrived += Deliver;
    }

    private const int SubscriberCapacity = 10_000;
    private readonly object _gate = new();
    private readonly Dictionary<string, List<Channel<LogLine>>> _subscribers = new(StringComparer.Ordinal);

    public ChannelReader<LogLine> Subscribe(string appId, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<LogLine>(new BoundedChannelOptions(SubscriberCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_gate)
        {
            if (!_subscribers.TryGetValue(appId, out var list))
            {
                _subscribers[appId] = list = [];
            }
            list.Add(channel);
        }
        cancellationToken.Register(() => Unsubscribe(appId, channel));
        return channel.Reader;
    }

    private void Unsubscribe(string appId, Channel<LogLine> channel)
    {
        lock (_gate)
        {
            if (_subscribers.TryGetValue(appId, out var list))
            {
                list.Remove(channel);
                if (list.Count == 0)
                {
                    _subscribers.Remove(appId);
                }
            }
        }
        channel.Writer.TryComplete();
    }

    /// <summary>Lines a worker sent to this replica: to its subscribers here and to the other replicas.</summary>
    public void Publish(string appId, IReadOnlyList<LogLine> lines)
    {
        Deliver(appId, lines);
        _store.RelayLogs(appId, lines);
    }

    private void Deliver(string appId, IReadOnlyList<LogLine> lines)
    {
        Channel<LogLine>[] targets;
        lock (_gate)
        {
            if (!_subscribers.TryGetValue(appId, out var list) || list.Count == 0)
            {
                return;
            }
            targets = [.. list];
        }
        foreach (var line in lines)
        {
            foreach (var target in targets)
            {
                target.Writer.TryWrite(line);
            }
        }
    }

    /// <summary>Ends every subscription of an app (it stopped).</summary>
    public void Complete(string appId)
    {
        List<Channel<LogLine>>? list;
        lock (_gate)
        {
            _subscribers.Remove(appId, out list);
        }
        foreach (var channel in list ?? [])
        {
            channel.Writer.TryComplete();
        }
    }
}
