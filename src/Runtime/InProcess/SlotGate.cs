namespace Modal.InProcess;

/// <summary>
/// An asynchronous semaphore whose limit can change while it is in use (<c>UpdateAutoscalerAsync</c> changes how many
/// containers, and so slots, a function has). Waiters are served in arrival order; lowering the limit takes effect as
/// running holders release, never by interrupting them.
/// </summary>
internal sealed class SlotGate(long limit)
{
    private readonly LinkedList<TaskCompletionSource> _waiters = new();
    private long _limit = limit;
    private long _held;

    /// <summary>Waits for a slot; throws <see cref="OperationCanceledException"/> if the token fires first.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        LinkedListNode<TaskCompletionSource> node;
        lock (_waiters)
        {
            if (_waiters.Count == 0 && _held < _limit)
            {
                _held++;
                return;
            }
            node = _waiters.AddLast(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
        using var registration = cancellationToken.Register(() =>
        {
            lock (_waiters)
            {
                if (node.List is null)
                {
                    return; // Granted a slot meanwhile: the waiter below holds it and gives it back.
                }
                _waiters.Remove(node);
            }
            node.Value.TrySetCanceled(cancellationToken);
        });
        await node.Value.Task.ConfigureAwait(false); // throws when cancelled while waiting (no slot taken)
        if (cancellationToken.IsCancellationRequested)
        {
            Release();
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Gives a slot back, and hands it to the next waiter while the limit allows.</summary>
    public void Release()
    {
        lock (_waiters)
        {
            _held--;
            Grant();
        }
    }

    /// <summary>Sets the number of slots; waiters start at once when it grows.</summary>
    public void SetLimit(long limit)
    {
        lock (_waiters)
        {
            _limit = limit;
            Grant();
        }
    }

    private void Grant()
    {
        while (_waiters.First is { } next && _held < _limit)
        {
            _waiters.RemoveFirst();
            _held++;
            next.Value.TrySetResult();
        }
    }
}
