using System.Threading.Channels;
using Modal.Api;

namespace Modal;

/// <summary>
/// Sends the container's outputs in batches (<c>FunctionPutOutputs</c>): whatever has finished while the previous
/// batch was in flight goes in the next one. Each output carries its attempt; the server drops stale ones and
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
    private readonly Channel<FunctionOutputFromWorker> _pending = Channel.CreateUnbounded<FunctionOutputFromWorker>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    public OutputBatcher(GrpcConnection connection, TextWriter diagnostics)
    {
        _connection = connection;
        _diagnostics = diagnostics;
        _loop = Task.Run(SendLoopAsync);
    }

    /// <summary>Queues an output for the next batch.</summary>
    public void Enqueue(FunctionOutputFromWorker output) => _pending.Writer.TryWrite(output);

    /// <summary>Sends everything queued and stops.</summary>
    public async Task FlushAsync(TimeSpan limit)
    {
        _pending.Writer.TryComplete();
        await Task.WhenAny(_loop, Task.Delay(limit)).ConfigureAwait(false);
    }

    private async Task SendLoopAsync()
    {
        var reader = _pending.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var request = new FunctionPutOutputsRequest();
            var bytes = 0;
            while (request.Outputs.Count < MaxBatchSize && bytes < MaxBatchBytes && reader.TryRead(out var output))
            {
                request.Outputs.Add(output);
                bytes += output.CalculateSize();
            }
            await SendAsync(request).ConfigureAwait(false);
        }
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
