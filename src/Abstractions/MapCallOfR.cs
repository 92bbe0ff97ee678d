using System.Runtime.CompilerServices;

namespace Modal;

/// <summary>
/// A spawned map (<c>SpawnMapAsync</c>, Modal's <c>spawn_map</c>): its inputs are committed and run on without the caller;
/// any process connected to the same control plane reaches it by <see cref="ObjectId"/> with <see cref="MapCall.FromId{R}"/>.
/// It lives as long as its app.
/// </summary>
/// <typeparam name="R">The function's result type.</typeparam>
public sealed class MapCall<R>
{
    private readonly string? _functionName;

    internal MapCall(string objectId, string? functionName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(objectId);
        ObjectId = objectId;
        _functionName = functionName;
    }

    /// <summary>The map call's id.</summary>
    public string ObjectId { get; }

    /// <summary>How many inputs the map has.</summary>
    public Task<int> NumInputsAsync(CancellationToken cancellationToken = default)
        => ModalBackend.Current.GetCallInputCountAsync(ObjectId, cancellationToken);

    /// <summary>
    /// Waits for the result of the input at <paramref name="index"/>. Null waits without limit; a timeout that passes
    /// throws <see cref="TimeoutException"/> while the map goes on. A failed input throws its failure.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The map has no input at that index.</exception>
    public async Task<R> GetAsync(int index, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var count = await NumInputsAsync(cancellationToken).ConfigureAwait(false);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
        using var limit = timeout is { } span && span != Timeout.InfiniteTimeSpan ? new CancellationTokenSource(span) : null;
        using var linked = limit is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token);
        try
        {
            await foreach (var output in ModalBackend.Current.GetCallOutputsAsync(ObjectId, linked?.Token ?? cancellationToken).ConfigureAwait(false))
            {
                if (output.Index == index)
                {
                    return output.Failure is { } failure ? throw failure : Decode(output.Value);
                }
            }
        }
        catch (OperationCanceledException) when (limit is { IsCancellationRequested: true } && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Input {index} of map call {ObjectId} has no result after {timeout!.Value.TotalSeconds:0.###} s; the map goes on. Call GetAsync again to keep waiting.");
        }
        throw new ModalException($"Map call {ObjectId} ended without a result for input {index}.");
    }

    /// <summary>
    /// The results of the inputs from <paramref name="start"/> up to <paramref name="end"/> (exclusive; null for all), in
    /// input order, each a value or the failure it ended in, waiting for those not yet finished.
    /// </summary>
    public async IAsyncEnumerable<FunctionResult<R>> IterateAsync(int start = 0, int? end = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        var count = await NumInputsAsync(cancellationToken).ConfigureAwait(false);
        var stop = Math.Min(end ?? count, count);
        if (stop < start)
        {
            throw new ArgumentOutOfRangeException(nameof(end), end, $"The end must not be before the start ({start}).");
        }
        if (stop == start)
        {
            yield break;
        }
        var waiting = new Dictionary<int, MapOutput>();
        var next = start;
        await foreach (var output in ModalBackend.Current.GetCallOutputsAsync(ObjectId, cancellationToken).ConfigureAwait(false))
        {
            if (output.Index < next || output.Index >= stop)
            {
                continue;
            }
            waiting[output.Index] = output;
            while (waiting.Remove(next, out var ready))
            {
                next++;
                yield return ToResult(ready);
            }
            if (next == stop)
            {
                yield break;
            }
        }
        throw new ModalException($"Map call {ObjectId} ended without results for inputs {next} to {stop - 1}.");
    }

    /// <summary>Cancels the map's unfinished inputs; they end as terminated and are not retried.</summary>
    /// <param name="terminateContainers">Also stop the containers running them.</param>
    /// <param name="cancellationToken">Stops waiting for the acknowledgement.</param>
    public Task CancelAsync(bool terminateContainers = false, CancellationToken cancellationToken = default)
        => ModalBackend.Current.CancelCallAsync(ObjectId, terminateContainers, cancellationToken);

    /// <inheritdoc />
    public override string ToString() => $"MapCall {ObjectId}";

    private R Decode(ReadOnlyMemory<byte> value) => ModalSerializer.DeserializeCallResult<R>(value, ObjectId, _functionName);

    private FunctionResult<R> ToResult(MapOutput output)
    {
        if (output.Failure is { } failure)
        {
            return FunctionResult<R>.Failure(output.Index, failure);
        }
        try
        {
            return FunctionResult<R>.Success(output.Index, Decode(output.Value));
        }
        catch (PayloadException undecodable)
        {
            return FunctionResult<R>.Failure(output.Index, undecodable);
        }
    }
}
