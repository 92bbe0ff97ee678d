using System.Threading.Channels;
using Modal.Api;

namespace Modal;

/// <summary>
/// Streams one generator input's items to the control plane (<c>FunctionPutDataOut</c>), batching the items that
/// are ready while a send is in flight. A bounded queue holds the generator back when the network cannot keep up. A
/// batch is sent again after a failure in transit, within the retry window (items are keyed by attempt and index, so
/// the control plane drops duplicates).
/// </summary>
internal sealed class DataOutSender
{
    private const int MaxBatchSize = 100;
    private const int MaxBatchBytes = 3 * 1024 * 1024;

    private static readonly TimeSpan s_sendLimit = TimeSpan.FromSeconds(60);

    private readonly GrpcConnection _connection;
    private readonly PayloadCodec _codec;
    private readonly LeasedInput _input;
    private readonly string _functionName;
    private readonly Channel<(long Index, ReadOnlyMemory<byte> Item)> _items = Channel.CreateBounded<(long, ReadOnlyMemory<byte>)>(
        new BoundedChannelOptions(256) { SingleReader = true, SingleWriter = true });
    private readonly Task _loop;

    public DataOutSender(GrpcConnection connection, PayloadCodec codec, LeasedInput input, string functionName)
    {
        _connection = connection;
        _codec = codec;
        _input = input;
        _functionName = functionName;
        _loop = Task.Run(SendLoopAsync);
    }

    /// <summary>Queues an item, waiting while the queue is full.</summary>
    public async ValueTask AddAsync(long index, ReadOnlyMemory<byte> item, CancellationToken cancellationToken)
    {
        if (_loop.IsFaulted)
        {
            await _loop.ConfigureAwait(false);
        }
        await _items.Writer.WriteAsync((index, item), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends what is queued; throws when items could not be delivered.</summary>
    public Task CompleteAsync()
    {
        _items.Writer.TryComplete();
        return _loop;
    }

    private async Task SendLoopAsync()
    {
        try
        {
            var reader = _items.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                var request = new FunctionPutDataOutRequest { InputId = _input.InputId, Attempt = _input.Attempt };
                var bytes = 0;
                while (request.Chunks.Count < MaxBatchSize && bytes < MaxBatchBytes && reader.TryRead(out var entry))
                {
                    var payload = await _codec.EncodeAsync(entry.Item, $"item {entry.Index} of generator '{_functionName}'", CancellationToken.None)
                        .ConfigureAwait(false);
                    request.Chunks.Add(new DataChunk { Index = entry.Index, Data = payload, Attempt = _input.Attempt });
                    bytes += payload.CalculateSize();
                }
                await SendAsync(request).ConfigureAwait(false);
            }
        }
        catch
        {
            // Unblock a generator waiting on a full queue; CompleteAsync rethrows.
            _items.Writer.TryComplete();
            while (_items.Reader.TryRead(out _))
            {
            }
            throw;
        }
    }

    private Task SendAsync(FunctionPutDataOutRequest request)
        => _connection.CallAsync((e, o) => e.Worker.FunctionPutDataOutAsync(request, o), CancellationToken.None, s_sendLimit);
}
