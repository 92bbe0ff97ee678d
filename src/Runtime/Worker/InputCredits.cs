using System.Threading.Channels;
using Grpc.Core;
using Modal.Api;

namespace Modal;

/// <summary>
/// The worker's input slots and the credits it has granted on its input stream. Credits are additive and reset to zero
/// when a stream is reopened, so a new stream is granted every slot that is free at that moment, and each slot that
/// frees up afterwards is granted on the stream open then. One lock orders both, so that no slot is granted twice or
/// lost when the stream is reopened while inputs finish.
/// </summary>
internal sealed class InputCredits(int slots)
{
    private readonly Lock _gate = new();
    private int _busy;
    private Channel<int>? _current;

    /// <summary>Assignments being run now.</summary>
    public int Busy
    {
        get
        {
            lock (_gate)
            {
                return _busy;
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="stream"/> the one that receives credits: grants it every free slot, then one more each
    /// time a slot frees up, until the returned task's stream is replaced or <see cref="Close"/> is called. The task
    /// ends when the stream can take no more credits.
    /// </summary>
    public Task GrantOnAsync(IClientStreamWriter<InputCredit> stream, CancellationToken cancellationToken)
    {
        var grants = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            _current?.Writer.TryComplete();
            _current = grants;
            if (slots - _busy > 0)
            {
                grants.Writer.TryWrite(slots - _busy);
            }
        }
        return Task.Run(() => WriteAsync(grants.Reader, stream, cancellationToken), CancellationToken.None);
    }

    /// <summary>An assignment arrived: it holds a slot until <see cref="Release"/>.</summary>
    public void Take()
    {
        lock (_gate)
        {
            _busy++;
        }
    }

    /// <summary>An assignment finished: its slot is granted again on the current stream.</summary>
    public void Release()
    {
        lock (_gate)
        {
            _busy--;
            _current?.Writer.TryWrite(1);
        }
    }

    /// <summary>No stream receives credits any more.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _current?.Writer.TryComplete();
            _current = null;
        }
    }

    private static async Task WriteAsync(ChannelReader<int> grants, IClientStreamWriter<InputCredit> stream, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var count in grants.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var total = count;
                while (grants.TryRead(out var more))
                {
                    total += more;
                }
                await stream.WriteAsync(new InputCredit { FreeSlots = total }, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or RpcException or InvalidOperationException or IOException)
        {
            // The stream ended or broke; the receive loop reports why and opens the next one.
        }
    }
}
