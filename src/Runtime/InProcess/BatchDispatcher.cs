namespace Modal.InProcess;

/// <summary>
/// Groups a <c>[Batched]</c> function's concurrent inputs: a batch closes when it holds <c>MaxBatchSize</c> inputs
/// or <c>WaitMs</c> after its first, then runs as one call of the entrypoint's <c>InvokeBatchAsync</c>; each input
/// gets its own element, and a failed batch fails every input in it.
/// </summary>
internal sealed class BatchDispatcher(InProcessFunction function, BatchOptions options, CancellationToken appStopping)
{
    private readonly Lock _gate = new();
    private readonly int _maxBatchSize = Math.Max(1, options.MaxBatchSize);
    private Batch? _open;

    /// <summary>Adds an input to the open batch and waits for its output.</summary>
    public Task<ReadOnlyMemory<byte>> SubmitAsync(ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<ReadOnlyMemory<byte>>(TaskCreationOptions.RunContinuationsAsynchronously);
        Batch? full = null;
        Batch? started = null;
        lock (_gate)
        {
            var batch = _open ??= new Batch();
            batch.Arguments.Add(arguments);
            batch.Completions.Add(completion);
            if (batch.Arguments.Count >= _maxBatchSize)
            {
                full = batch;
                _open = null;
            }
            else if (batch.Arguments.Count == 1)
            {
                started = batch;
            }
        }
        if (full is not null)
        {
            Dispatch(full);
        }
        else if (started is not null)
        {
            _ = CloseAfterWaitAsync(started);
        }
        // An input cancelled while its batch runs stops waiting; the batch itself goes on for the others.
        return completion.Task.WaitAsync(cancellationToken);
    }

    private async Task CloseAfterWaitAsync(Batch batch)
    {
        try
        {
            await Task.Delay(options.WaitMs, appStopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The app stopped; the batch still runs and fails its inputs as cancelled.
        }
        lock (_gate)
        {
            if (!ReferenceEquals(_open, batch))
            {
                return; // closed when it filled up
            }
            _open = null;
        }
        Dispatch(batch);
    }

    private void Dispatch(Batch batch) => _ = Task.Run(() => RunAsync(batch), CancellationToken.None);

    private async Task RunAsync(Batch batch)
    {
        try
        {
            var outputs = await function.ExecuteAsync(
                token => function.Entrypoint.InvokeBatchAsync(function.Name, batch.Arguments, token).AsTask(),
                input: null, retry: true, appStopping).ConfigureAwait(false);
            for (int i = 0; i < batch.Completions.Count; i++)
            {
                batch.Completions[i].TrySetResult(outputs[i]);
            }
        }
        catch (Exception exception)
        {
            foreach (var completion in batch.Completions)
            {
                completion.TrySetException(exception);
                _ = completion.Task.Exception; // observed: an input whose caller stopped waiting no longer reads it
            }
        }
    }

    private sealed class Batch
    {
        public List<ReadOnlyMemory<byte>> Arguments { get; } = [];

        public List<TaskCompletionSource<ReadOnlyMemory<byte>>> Completions { get; } = [];
    }
}
