namespace Modal.Server.Store;

/// <summary>
/// The SQLite writer's queue: operations are committed in batches, one batch at a time. An operation that arrives while
/// no batch is being committed is committed at once on its caller's thread, so a lone request pays no hand-off to a
/// writer thread and back (on a busy 2-core machine each hop costs more than the commit). Operations that arrive while
/// a batch commits are queued and committed together as the next batch, by a thread-pool item started as soon as the
/// current batch ends (group commit). Nothing is acknowledged here: each operation completes itself after its batch's
/// commit, inside <c>commit</c>.
/// </summary>
internal sealed class SqliteWriteQueue(Action<List<SqliteWriteQueue.IWrite>> commit)
{
    /// <summary>One queued operation.</summary>
    internal interface IWrite
    {
        /// <summary>
        /// Runs inside the batch's transaction, and inside a savepoint of its own when <paramref name="alone"/> is false; signals
        /// it wants raised after commit. False when it failed: with a savepoint it has been rolled back to it; alone, the
        /// caller rolls the transaction back.
        /// </summary>
        bool Apply(SqliteTx tx, long now, List<Action<StoreSignals>> afterCommit, bool alone);

        /// <summary>Hands the result (or the batch's failure) to the waiting caller.</summary>
        void Complete(Exception? failure);
    }

    private const int MaxBatch = 10_000;

    private readonly Lock _gate = new();
    private List<IWrite> _pending = [];
    private List<IWrite> _spare = [];
    private bool _committing;
    private bool _completed;
    private TaskCompletionSource? _drained;

    /// <summary>Queues <paramref name="write"/>; false once <see cref="CompleteAsync"/> was called.</summary>
    public bool TryEnqueue(IWrite write)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return false;
            }
            _pending.Add(write);
            if (_committing)
            {
                return true;
            }
            _committing = true;
        }
        CommitNextBatch();
        return true;
    }

    /// <summary>Refuses new operations and completes once every queued one is committed.</summary>
    public Task CompleteAsync()
    {
        lock (_gate)
        {
            _completed = true;
            if (!_committing)
            {
                return Task.CompletedTask;
            }
            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

    /// <summary>Commits what is queued now (this thread holds the writer), then passes the writer on or lets it go.</summary>
    private void CommitNextBatch()
    {
        List<IWrite> batch;
        lock (_gate)
        {
            if (_pending.Count <= MaxBatch)
            {
                batch = _pending;
                _pending = _spare;
                _spare = batch;
            }
            else
            {
                batch = _pending.GetRange(0, MaxBatch);
                _pending.RemoveRange(0, MaxBatch);
            }
        }
        try
        {
            commit(batch);
        }
        catch (Exception exception)
        {
            // The commit completes its operations itself; this is only for a fault in that code.
            foreach (var write in batch)
            {
                write.Complete(exception);
            }
        }
        finally
        {
            batch.Clear();
            PassOn();
        }
    }

    private void PassOn()
    {
        TaskCompletionSource? drained = null;
        lock (_gate)
        {
            if (_pending.Count > 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static queue => queue.CommitNextBatch(), this, preferLocal: false);
                return;
            }
            _committing = false;
            if (_completed)
            {
                drained = _drained;
            }
        }
        drained?.TrySetResult();
    }
}
