using Modal.Server.Store;

namespace Modal.Server.Tests;

/// <summary>
/// The SQLite writer's queue: a write that finds the writer idle commits on its caller's thread; writes that arrive
/// while a batch commits go together in the next batch; completing the queue commits what is queued and refuses more.
/// </summary>
public sealed class SqliteWriteQueueTests
{
    /// <summary>A write that records the batch it was committed in.</summary>
    private sealed class Recorded : SqliteWriteQueue.IWrite
    {
        public int Batch = -1;
        public int CommitThread;
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Apply(SqliteTx tx, long now, List<Action<StoreSignals>> afterCommit, bool alone) => throw new NotSupportedException();

        public void Complete(Exception? failure)
        {
            if (failure is null) Done.TrySetResult();
            else Done.TrySetException(failure);
        }
    }

    private sealed class RecordingCommit
    {
        public readonly List<int> BatchSizes = [];
        public ManualResetEventSlim? HoldFirst;
        public readonly ManualResetEventSlim FirstStarted = new();

        public void Commit(List<SqliteWriteQueue.IWrite> batch)
        {
            int number;
            lock (BatchSizes)
            {
                number = BatchSizes.Count;
                BatchSizes.Add(batch.Count);
            }
            if (number == 0)
            {
                FirstStarted.Set();
                HoldFirst?.Wait(TimeSpan.FromSeconds(30));
            }
            foreach (Recorded write in batch)
            {
                write.Batch = number;
                write.CommitThread = Environment.CurrentManagedThreadId;
                write.Complete(null);
            }
        }
    }

    [Fact]
    public void A_write_that_finds_the_writer_idle_is_committed_on_its_callers_thread_before_the_enqueue_returns()
    {
        var commit = new RecordingCommit();
        var queue = new SqliteWriteQueue(commit.Commit);
        var write = new Recorded();

        Assert.True(queue.TryEnqueue(write));

        Assert.True(write.Done.Task.IsCompletedSuccessfully);
        Assert.Equal(Environment.CurrentManagedThreadId, write.CommitThread);
        Assert.Equal([1], commit.BatchSizes);
    }

    [Fact]
    public async Task Writes_queued_while_a_batch_commits_are_committed_together_in_the_next_batch()
    {
        using var hold = new ManualResetEventSlim();
        var commit = new RecordingCommit { HoldFirst = hold };
        var queue = new SqliteWriteQueue(commit.Commit);
        var first = new Recorded();
        var leader = Task.Run(() => queue.TryEnqueue(first));
        Assert.True(commit.FirstStarted.Wait(TimeSpan.FromSeconds(10)), "the first batch never started");

        var queued = Enumerable.Range(0, 50).Select(_ => new Recorded()).ToList();
        foreach (var write in queued)
        {
            Assert.True(queue.TryEnqueue(write));
            Assert.False(write.Done.Task.IsCompleted);
        }
        hold.Set();
        Assert.True(await leader);
        await Task.WhenAll(queued.Select(w => w.Done.Task)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([1, 50], commit.BatchSizes);
        Assert.All(queued, w => Assert.Equal(1, w.Batch));
    }

    [Fact]
    public async Task Completing_the_queue_commits_what_is_queued_then_refuses_new_writes()
    {
        using var hold = new ManualResetEventSlim();
        var commit = new RecordingCommit { HoldFirst = hold };
        var queue = new SqliteWriteQueue(commit.Commit);
        var leader = Task.Run(() => queue.TryEnqueue(new Recorded()));
        Assert.True(commit.FirstStarted.Wait(TimeSpan.FromSeconds(10)), "the first batch never started");
        var queued = new Recorded();
        Assert.True(queue.TryEnqueue(queued));

        var completed = queue.CompleteAsync();
        Assert.False(queue.TryEnqueue(new Recorded()));
        Assert.False(completed.IsCompleted);
        hold.Set();
        await completed.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(queued.Done.Task.IsCompletedSuccessfully);
        Assert.Equal([1, 1], commit.BatchSizes);
        await leader;
    }

    [Fact]
    public async Task A_fault_in_the_commit_fails_its_batch_and_the_queue_goes_on()
    {
        int calls = 0;
        var queue = new SqliteWriteQueue(batch =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new InvalidOperationException("disk on fire");
            }
            foreach (var write in batch)
            {
                write.Complete(null);
            }
        });
        var failed = new Recorded();
        var next = new Recorded();

        Assert.True(queue.TryEnqueue(failed));
        Assert.True(queue.TryEnqueue(next));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => failed.Done.Task);
        Assert.Equal("disk on fire", error.Message);
        await next.Done.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
