using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Modal.InProcess;

/// <summary>
/// Runs a map: reads the inputs lazily, keeps at most a window of inputs outstanding (submitted and not yet
/// yielded), and yields outputs in input order through a reorder buffer, or as they complete. Memory stays
/// bounded by the window however long the input sequence is.
/// </summary>
internal sealed class MapRunner
{
    /// <summary>The most inputs of one map outstanding at once, as the remote client's pump bounds them.</summary>
    public const int MaxOutstandingInputs = 1000;

    private readonly InProcessBackend _backend;
    private readonly InProcessFunction _function;
    private readonly CallRecord _call;
    private readonly Channel<MapOutput> _outputs = Channel.CreateUnbounded<MapOutput>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly SemaphoreSlim _window = new(MaxOutstandingInputs, MaxOutstandingInputs);
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running = 1; // the producer counts as one until it has read every input

    public MapRunner(InProcessBackend backend, InProcessFunction function, CallRecord call)
    {
        _backend = backend;
        _function = function;
        _call = call;
    }

    public async IAsyncEnumerable<MapOutput> RunAsync(
        IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, bool orderOutputs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => ProduceAsync(inputs, stop.Token), CancellationToken.None);
        var reorder = orderOutputs ? new Dictionary<int, MapOutput>() : null;
        int next = 0;
        try
        {
            await foreach (var output in _outputs.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                if (reorder is null)
                {
                    _window.Release();
                    yield return output;
                    continue;
                }
                reorder.Add(output.Index, output);
                while (reorder.Remove(next, out var ready))
                {
                    next++;
                    _window.Release();
                    yield return ready;
                }
            }
            await producer.ConfigureAwait(false);
            // Cancelled inputs write no output, so a cancelled map can drain without a wait observing the token.
            cancellationToken.ThrowIfCancellationRequested();
        }
        finally
        {
            // Stops reading inputs and cancels the ones in flight when the caller stops early or fails;
            // they finish promptly, since an input's wait ends when its token is cancelled.
            await stop.CancelAsync().ConfigureAwait(false);
            await _drained.Task.ConfigureAwait(false);
            stop.Dispose();
        }
    }

    private async Task ProduceAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, CancellationToken cancellationToken)
    {
        try
        {
            int index = 0;
            await foreach (var arguments in inputs.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _running);
                _ = RunInputAsync(index++, arguments, cancellationToken);
            }
        }
        catch (Exception exception)
        {
            // A failing input sequence (or cancellation) ends the map with that exception.
            _outputs.Writer.TryComplete(exception);
        }
        finally
        {
            Finished();
        }
    }

    private async Task RunInputAsync(int index, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        try
        {
            var value = await _backend.RunInputAsync(_function, _call, arguments, cancellationToken).ConfigureAwait(false);
            _outputs.Writer.TryWrite(new MapOutput(index, value, null));
        }
        catch (ModalException failure)
        {
            _outputs.Writer.TryWrite(new MapOutput(index, default, failure));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The map was stopped; nobody reads this output.
        }
        catch (Exception unexpected)
        {
            _outputs.Writer.TryWrite(new MapOutput(index, default,
                new ModalException($"Input {index} of a map over '{_function.Name}' failed unexpectedly: {unexpected.Message}", unexpected)));
        }
        finally
        {
            Finished();
        }
    }

    private void Finished()
    {
        if (Interlocked.Decrement(ref _running) == 0)
        {
            _outputs.Writer.TryComplete();
            _drained.TrySetResult();
        }
    }
}
