using System.Collections.Concurrent;

namespace Modal.InProcess;

/// <summary>
/// Spawned calls by id. A running call is always kept; a finished one is kept for the retention window, and only
/// the newest <see cref="InProcessOptions.MaxRetainedCalls"/> finished ones are kept, oldest finished dropped first.
/// </summary>
internal sealed class SpawnedCalls(InProcessOptions options)
{
    private readonly ConcurrentDictionary<string, CallRecord> _calls = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Id, DateTimeOffset FinishedAt)> _finished = new();
    private readonly Lock _evicting = new();
    private int _finishedCount;

    public void Add(CallRecord call, Task result)
    {
        _calls[call.Id] = call;
        result.ContinueWith(
            static (_, state) =>
            {
                var (calls, id) = ((SpawnedCalls, string))state!;
                calls.Finished(id);
            },
            (this, call.Id), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public bool TryGet(string id, out CallRecord call)
    {
        Evict();
        return _calls.TryGetValue(id, out call!);
    }

    private void Finished(string id)
    {
        _finished.Enqueue((id, options.TimeProvider.GetUtcNow()));
        Interlocked.Increment(ref _finishedCount);
        Evict();
    }

    private void Evict()
    {
        if (_finished.IsEmpty)
        {
            return;
        }
        lock (_evicting)
        {
            var now = options.TimeProvider.GetUtcNow();
            while (_finished.TryPeek(out var oldest)
                   && (Volatile.Read(ref _finishedCount) > options.MaxRetainedCalls || now - oldest.FinishedAt >= options.ResultRetention))
            {
                _finished.TryDequeue(out _);
                Interlocked.Decrement(ref _finishedCount);
                _calls.TryRemove(oldest.Id, out _);
            }
        }
    }
}
