using Modal.Api;

namespace Modal;

/// <summary>
/// Gathers a call's inputs into requests: the first batch creates the call (<c>FunctionMap</c>, its inputs pipelined),
/// later ones add to it (<c>FunctionPutInputs</c>), the last says so. Each request carries its own idempotency key, kept
/// across its retries, so that a control plane restart never enqueues a batch twice. With <c>newestVersion</c> (a function
/// looked up by name without a version) the call goes to the newest version of the function's app.
/// </summary>
internal sealed class InputBatches(
    GrpcConnection connection, string functionId, FunctionCallInvocation invocation, string? parentInputId, bool newestVersion = false)
{
    private readonly List<FunctionInputItem> _batch = new(MapPump.MaxBatchSize);
    private long _batchBytes;

    /// <summary>The call's id, once the first request has created it.</summary>
    public string? CallId { get; private set; }

    /// <summary>True when no input waits to be sent.</summary>
    public bool IsEmpty => _batch.Count == 0;

    /// <summary>Adds an input; true when the batch is full and should be sent.</summary>
    public bool Add(FunctionInputItem input)
    {
        _batch.Add(input);
        _batchBytes += input.CalculateSize();
        return _batch.Count >= MapPump.MaxBatchSize || _batchBytes >= MapPump.MaxBatchBytes;
    }

    /// <summary>
    /// Sends the gathered inputs. With <paramref name="last"/>, tells the control plane that no more follow; a call
    /// without any input is created only when <paramref name="createEmpty"/> (a spawned map needs an id to return).
    /// </summary>
    public async Task FlushAsync(bool last, bool createEmpty, CancellationToken cancellationToken)
    {
        if (CallId is null)
        {
            if (_batch.Count == 0 && last && !createEmpty)
            {
                return;
            }
            var request = new FunctionMapRequest
            {
                FunctionId = functionId,
                Invocation = invocation,
                ParentInputId = parentInputId ?? string.Empty,
                IdempotencyKey = GrpcBackend.NewIdempotencyKey(),
                NewestVersion = newestVersion,
            };
            request.PipelinedInputs.AddRange(_batch);
            var response = await connection.CallAsync((e, o) => e.Client.FunctionMapAsync(request, o), cancellationToken).ConfigureAwait(false);
            CallId = response.FunctionCallId;
            Clear();
            if (!last)
            {
                return;
            }
        }
        if (_batch.Count == 0 && !last)
        {
            return;
        }
        var put = new FunctionPutInputsRequest { FunctionCallId = CallId, Last = last, IdempotencyKey = GrpcBackend.NewIdempotencyKey() };
        put.Inputs.AddRange(_batch);
        await connection.CallAsync((e, o) => e.Client.FunctionPutInputsAsync(put, o), cancellationToken).ConfigureAwait(false);
        Clear();
    }

    private void Clear()
    {
        _batch.Clear();
        _batchBytes = 0;
    }
}
