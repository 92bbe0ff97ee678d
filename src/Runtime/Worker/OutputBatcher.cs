using Modal.Api;

namespace Modal;

/// <summary>
/// Sends the container's outputs in batches (<c>FunctionPutOutputs</c>): whatever has finished while the previous
/// batch was in flight goes in the next one. An output that finds no batch in flight is sent at once from the thread that
/// produced it, with no hand-off to a sending task. Each output carries its attempt; the server drops stale ones and
/// duplicates, so a batch that may or may not have arrived (a restart, a failover) is simply sent again, within the
/// retry window.
/// </summary>
internal sealed class OutputBatcher
{
    private const int MaxBatchSize = 100;
    private const int MaxBatchBytes = 3 * 1024 * 1024;

    private static readonly TimeSpan s_sendLimit = TimeSpan.FromSeconds(30);

    private readonly GrpcConnection _connection;
    private readonly TextWriter _diagnostics;
    private readonly Lock _gate = new();
    private readonly Queue<FunctionOutputFromWorker> _pending = new();
    private TaskCompletionSource _idle = NewIdle();
    private bool _busy;

    private static TaskCompletionSource NewIdle() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public OutputBatcher(GrpcConnection connection, TextWriter diagnostics)
    {
        _connection = connection;
        _diagnostics = diagnostics;
    }

    /// <summary>Queues an output for the next batch, and sends it now when no batch is in flight.</summary>
    public void Enqueue(FunctionOutputFromWorker output)
    {
        lock (_gate)
        {
            _pending.Enqueue(output);
            if (_busy)
            {
                return;
            }
            _busy = true;
            _idle = NewIdle();
        }
        // Outside the lock: the send starts on this thread and runs until its first wait.
        _ = SendPendingAsync();
    }

    /// <summary>Waits, at most <paramref name="limit"/>, until everything queued has been sent.</summary>
    public async Task FlushAsync(TimeSpan limit)
    {
        Task idle;
        lock (_gate)
        {
            if (!_busy)
            {
                return;
            }
            idle = _idle.Task;
        }
        await Task.WhenAny(idle, Task.Delay(limit)).ConfigureAwait(false);
    }

    /// <summary>Sends batches until none is left; one runs at a time (<see cref="_busy"/>).</summary>
    private async Task SendPendingAsync()
    {
        while (true)
        {
            var request = new FunctionPutOutputsRequest();
            lock (_gate)
            {
                var bytes = 0;
                while (request.Outputs.Count < MaxBatchSize && bytes < MaxBatchBytes && _pending.TryDequeue(out var output))
                {
                    request.Outputs.Add(output);
                    bytes += output.CalculateSize();
                }
                if (request.Outputs.Count == 0)
                {
                    EndSending();
                    return;
                }
            }
            try
            {
                await SendAsync(request).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                // Not a refusal (those are reported and dropped): the next output starts the sending again.
                lock (_gate)
                {
                    EndSending();
                }
                await _diagnostics.WriteLineAsync($"modal worker: sending {request.Outputs.Count} output(s) failed: {exception.Message}").ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>No batch is in flight any more (under <see cref="_gate"/>): the next output starts a send, and flushes stop waiting.</summary>
    private void EndSending()
    {
        _busy = false;
        _idle.TrySetResult();
    }

    private async Task SendAsync(FunctionPutOutputsRequest request)
    {
        try
        {
            await _connection.CallAsync((e, o) => e.Worker.FunctionPutOutputsAsync(request, o), CancellationToken.None, s_sendLimit)
                .ConfigureAwait(false);
        }
        catch (ModalException exception)
        {
            // The server refused the batch (for example the inputs were re-leased elsewhere) or stayed unreachable for the
            // whole retry window; the inputs' next attempts report instead.
            await _diagnostics.WriteLineAsync($"modal worker: {request.Outputs.Count} output(s) not accepted: {exception.Message}").ConfigureAwait(false);
        }
    }
}
