using System.Collections.Concurrent;

namespace Modal.Server.Store;

/// <summary>
/// Wake-ups inside one process: a call changed (outputs, items, finished), or work may be ready. Waiters re-read the
/// store, so a missed or spurious signal costs a poll interval at most; the one exception is a call's outputs that a
/// completion committed in this process, which its signal carries (<see cref="CommittedOutputs"/>) so that a waiter
/// whose cursor they continue need not read them back. Take a watch before reading the store (or before the change
/// can commit), then wait on it: a change committed after that cannot be missed.
/// </summary>
internal sealed class StoreSignals
{
    private readonly ConcurrentDictionary<string, CallWaiters> _calls = new(StringComparer.Ordinal);
    private TaskCompletionSource _work = NewSource();

    internal sealed class CallWaiters
    {
        public TaskCompletionSource Source = NewSource();
        public int Count;
        public CommittedOutputs? Latest;
    }

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Calls with someone waiting on them now.</summary>
    public int WatchedCalls => _calls.Count;

    public void CallChanged(string callId) => CallChanged(callId, null);

    /// <summary>A call changed; <paramref name="outputs"/>: the outputs the change committed, in sequence order.</summary>
    public void CallChanged(string callId, CommittedOutputs? outputs)
    {
        if (_calls.TryGetValue(callId, out var waiters))
        {
            Volatile.Write(ref waiters.Latest, outputs);
            Interlocked.Exchange(ref waiters.Source, NewSource()).TrySetResult();
        }
    }

    /// <summary>Wakes every watcher of every call (after a reconnect to the database, when notifications may be lost).</summary>
    public void AllCallsChanged()
    {
        foreach (var waiters in _calls.Values)
        {
            Interlocked.Exchange(ref waiters.Source, NewSource()).TrySetResult();
        }
    }

    /// <summary>Log lines of an app that reached another replica (relayed through the database), for this one's subscribers.</summary>
    public event Action<string, IReadOnlyList<Modal.Api.LogLine>>? LogsArrived;

    public void LogsRelayed(string appId, IReadOnlyList<Modal.Api.LogLine> lines) => LogsArrived?.Invoke(appId, lines);

    public void WorkReady() => Interlocked.Exchange(ref _work, NewSource()).TrySetResult();

    /// <summary>Signals work once a retry's delay has passed (the dispatcher also polls, so a lost timer costs little).</summary>
    public void WorkReadyAfter(long delayMs)
    {
        if (delayMs <= 0)
        {
            WorkReady();
            return;
        }
        _ = Task.Delay(TimeSpan.FromMilliseconds(delayMs)).ContinueWith(_ => WorkReady(), TaskScheduler.Default);
    }

    /// <summary>Completes at the next <see cref="WorkReady"/> after this call.</summary>
    public Task NextWork => Volatile.Read(ref _work).Task;

    public CallWatch WatchCall(string callId)
    {
        var waiters = _calls.AddOrUpdate(callId, _ => new CallWaiters { Count = 1 }, (_, existing) =>
        {
            Interlocked.Increment(ref existing.Count);
            return existing;
        });
        return new CallWatch(this, callId, waiters);
    }

    private void Release(string callId, CallWaiters waiters)
    {
        if (Interlocked.Decrement(ref waiters.Count) == 0)
        {
            _calls.TryRemove(new KeyValuePair<string, CallWaiters>(callId, waiters));
        }
    }

    /// <summary>Outputs a completion committed for one call, in sequence order, and how many of its inputs were then unfinished.</summary>
    internal sealed record CommittedOutputs(IReadOnlyList<OutputRow> Rows, int Unfinished);

    /// <summary>A registration for one call's changes; dispose it when done waiting.</summary>
    internal sealed class CallWatch : IDisposable
    {
        private readonly StoreSignals _owner;
        private readonly string _callId;
        private readonly CallWaiters _waiters;
        private Task _next;
        private int _disposed;

        public CallWatch(StoreSignals owner, string callId, CallWaiters waiters)
        {
            _owner = owner;
            _callId = callId;
            _waiters = waiters;
            _next = Volatile.Read(ref waiters.Source).Task;
        }

        /// <summary>Waits for a change since the watch was taken (or since the last wait returned), or the timeout.</summary>
        public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            try
            {
                await _next.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Time to poll.
            }
            finally
            {
                _next = Volatile.Read(ref _waiters.Source).Task;
            }
        }

        /// <summary>
        /// The outputs the last change committed, when they directly follow <paramref name="afterSequence"/> (so that none is
        /// skipped); null otherwise (read the store).
        /// </summary>
        public CommittedOutputs? CommittedAfter(long afterSequence) =>
            Volatile.Read(ref _waiters.Latest) is { Rows: [var first, ..] } latest && first.Sequence == afterSequence + 1 ? latest : null;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _owner.Release(_callId, _waiters);
            }
        }
    }
}
