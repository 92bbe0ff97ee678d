using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Modal.Api;

namespace Modal;

/// <summary>
/// One map call: inputs go out in batches (the first pipelined in <c>FunctionMap</c>) with at most
/// <see cref="MaxOutstanding"/> not yet handed to the consumer, while a concurrent long-poll loop collects
/// outputs after a cursor. Outputs are yielded once each, in input order when asked (a reorder buffer that the
/// outstanding bound also bounds), so memory stays flat however many inputs there are. A restart or failover of
/// the control plane is ridden through: every request that adds inputs carries its own idempotency key (kept across
/// its retries), the long poll resumes from the last cursor received, and outputs are deduplicated by index.
/// </summary>
internal sealed class MapPump
{
    /// <summary>Inputs in one request at most.</summary>
    public const int MaxBatchSize = 100;

    /// <summary>Inline payload bytes in one request at most (the server takes messages up to 4 MB).</summary>
    public const int MaxBatchBytes = 3 * 1024 * 1024;

    /// <summary>Inputs sent but not yet yielded, at most.</summary>
    public const int MaxOutstanding = 1000;

    private static readonly TimeSpan s_pollTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_pollWhileSending = TimeSpan.FromSeconds(5);

    private readonly GrpcConnection _connection;
    private readonly PayloadCodec _codec;
    private readonly string _functionId;
    private readonly bool _newestVersion;
    private readonly string _functionName;
    private readonly string? _parentInputId;
    private readonly SemaphoreSlim _slots = new(MaxOutstanding, MaxOutstanding);
    private readonly Channel<MapOutput> _outputs = Channel.CreateUnbounded<MapOutput>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<string?> _callId = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _inputsEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _totalInputs = -1;
    private int _received;
    private Exception? _fault;

    public MapPump(GrpcConnection connection, PayloadCodec codec, string functionId, string functionName, string? parentInputId, bool newestVersion = false)
    {
        _connection = connection;
        _codec = codec;
        _functionId = functionId;
        _newestVersion = newestVersion;
        _functionName = functionName;
        _parentInputId = parentInputId;
    }

    /// <summary>Runs the map and yields its outputs.</summary>
    public async IAsyncEnumerable<MapOutput> RunAsync(
        IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, bool orderOutputs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var pumpCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = pumpCancellation.Token;
        var sender = Task.Run(() => GuardAsync(() => SendInputsAsync(inputs, token)), CancellationToken.None);
        var receiver = Task.Run(() => GuardAsync(() => ReceiveOutputsAsync(token)), CancellationToken.None);
        var completed = false;
        try
        {
            var reorder = orderOutputs ? new Dictionary<int, MapOutput>() : null;
            var next = 0;
            await foreach (var output in _outputs.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (reorder is null)
                {
                    _slots.Release();
                    yield return output;
                    continue;
                }
                reorder[output.Index] = output;
                while (reorder.Remove(next, out var ready))
                {
                    next++;
                    _slots.Release();
                    yield return ready;
                }
            }
            if (_fault is { } fault)
            {
                ExceptionDispatchInfo.Capture(fault).Throw();
            }
            cancellationToken.ThrowIfCancellationRequested();
            completed = true;
        }
        finally
        {
            await pumpCancellation.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(sender, receiver).ConfigureAwait(false);
            if (!completed && _callId.Task.IsCompletedSuccessfully && _callId.Task.Result is { } callId)
            {
                // The consumer stopped early (a failure, a break, a cancellation): the remaining inputs are not wanted.
                await GrpcBackend.CancelQuietlyAsync(_connection, callId).ConfigureAwait(false);
            }
        }
    }

    private async Task GuardAsync(Func<Task> body)
    {
        try
        {
            await body().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _outputs.Writer.TryComplete();
        }
        catch (Exception exception)
        {
            Interlocked.CompareExchange(ref _fault, exception, null);
            _outputs.Writer.TryComplete();
        }
        finally
        {
            _callId.TrySetResult(null);
        }
    }

    private async Task SendInputsAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, CancellationToken cancellationToken)
    {
        var batches = new InputBatches(_connection, _functionId, FunctionCallInvocation.Sync, _parentInputId, _newestVersion);
        var index = 0;

        async Task FlushAsync(bool last)
        {
            await batches.FlushAsync(last, createEmpty: false, cancellationToken).ConfigureAwait(false);
            if (batches.CallId is { } callId)
            {
                _callId.TrySetResult(callId);
            }
        }

        await using (var enumerator = inputs.GetAsyncEnumerator(cancellationToken))
        {
            while (true)
            {
                if (!_slots.Wait(0))
                {
                    // Backpressure: send what is gathered, then wait for the consumer to take outputs.
                    await FlushAsync(last: false).ConfigureAwait(false);
                    await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                var moving = enumerator.MoveNextAsync();
                if (!moving.IsCompleted && !batches.IsEmpty)
                {
                    // The source is slow: do not hold back inputs that are ready.
                    await FlushAsync(last: false).ConfigureAwait(false);
                }
                if (!await moving.ConfigureAwait(false))
                {
                    _slots.Release();
                    break;
                }
                var what = $"the arguments of input {index} of '{_functionName}'";
                var payload = ModalTelemetry.WithTraceContext(await _codec.EncodeAsync(enumerator.Current, what, cancellationToken).ConfigureAwait(false));
                if (batches.Add(new FunctionInputItem { Index = index++, Arguments = payload }))
                {
                    await FlushAsync(last: false).ConfigureAwait(false);
                }
            }
        }
        Volatile.Write(ref _totalInputs, index);
        await FlushAsync(last: true).ConfigureAwait(false);
        if (index == 0)
        {
            _outputs.Writer.TryComplete();
        }
        // Wake the output loop if it is waiting in a long poll for outputs that all arrived already.
        _inputsEnded.TrySetResult();
    }

    private async Task ReceiveOutputsAsync(CancellationToken cancellationToken)
    {
        var callId = await _callId.Task.ConfigureAwait(false);
        if (callId is null)
        {
            return;
        }
        var seen = new BitSet();
        long cursor = 0;
        while (true)
        {
            var total = Volatile.Read(ref _totalInputs);
            if (total >= 0 && _received >= total)
            {
                _outputs.Writer.TryComplete();
                return;
            }
            var wait = total >= 0 ? s_pollTimeout : s_pollWhileSending;
            var request = new FunctionGetOutputsRequest
            {
                FunctionCallId = callId,
                AfterCursor = cursor,
                TimeoutSeconds = wait.TotalSeconds,
            };
            var deadline = wait + GrpcBackend.PollGrace;
            FunctionGetOutputsResponse response;
            if (total < 0)
            {
                if (await PollWhileInputsAreSentAsync(request, deadline, cancellationToken).ConfigureAwait(false) is not { } polled)
                {
                    continue;
                }
                response = polled;
            }
            else
            {
                response = await _connection.CallAsync((e, o) => e.Client.FunctionGetOutputsAsync(request, o), cancellationToken, deadline)
                    .ConfigureAwait(false);
            }
            // The next poll (and its retries, after a restart) resumes after the last output received; an output seen
            // twice all the same (a replica that had not caught up, a re-run input) is dropped by its index.
            cursor = Math.Max(cursor, response.Cursor);
            foreach (var item in response.Outputs)
            {
                if (item.Index < 0 || !seen.Add(item.Index))
                {
                    continue;
                }
                _received++;
                var failure = OutputMapper.ToException(item.Result, _functionName);
                var value = failure is null
                    ? await _codec.DecodeAsync(item.Result.Data, cancellationToken).ConfigureAwait(false)
                    : ReadOnlyMemory<byte>.Empty;
                _outputs.Writer.TryWrite(new MapOutput(item.Index, value, failure));
            }
        }
    }

    /// <summary>
    /// A long poll made while inputs are still being sent, when the number of outputs to expect is not known yet. If the
    /// inputs end while it waits and every output has arrived already, it would wait in vain: it is abandoned and null is
    /// returned. Otherwise it is awaited, never cancelled: it may be receiving a batch of outputs at that very moment, and
    /// aborting an HTTP/2 stream mid-response surfaces as a transport failure ("The request was aborted"), not as a
    /// cancellation (issue 6: maps of large outputs failed near their end).
    /// </summary>
    private async Task<FunctionGetOutputsResponse?> PollWhileInputsAreSentAsync(FunctionGetOutputsRequest request, TimeSpan deadline,
        CancellationToken cancellationToken)
    {
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var poll = _connection.CallAsync((e, o) => e.Client.FunctionGetOutputsAsync(request, o), abandon.Token, deadline);
        if (await Task.WhenAny(poll, _inputsEnded.Task).ConfigureAwait(false) == poll || _received < Volatile.Read(ref _totalInputs))
        {
            return await poll.ConfigureAwait(false);
        }
        await abandon.CancelAsync().ConfigureAwait(false);
        try
        {
            await poll.ConfigureAwait(false);
        }
        catch (Exception exception) when ((exception is ModalException or OperationCanceledException) && !cancellationToken.IsCancellationRequested)
        {
            // Every output has arrived: whatever the abandoned poll ends with, it carries nothing this map needs.
        }
        return null;
    }

    /// <summary>A growable set of small non-negative integers: one bit per input, so a million inputs take 125 KB.</summary>
    private sealed class BitSet
    {
        private ulong[] _words = new ulong[16];

        public bool Add(int value)
        {
            var word = value >> 6;
            if (word >= _words.Length)
            {
                Array.Resize(ref _words, Math.Max(word + 1, _words.Length * 2));
            }
            var mask = 1UL << (value & 63);
            if ((_words[word] & mask) != 0)
            {
                return false;
            }
            _words[word] |= mask;
            return true;
        }
    }
}
