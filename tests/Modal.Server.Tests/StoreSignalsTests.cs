using Modal.Server.Store;

namespace Modal.Server.Tests;

/// <summary>
/// Store signals: a watch taken before a change sees it; the outputs a completion committed come with its signal, and are
/// handed to a waiter only when they directly follow its cursor (otherwise it reads the store, so that nothing is skipped).
/// </summary>
public sealed class StoreSignalsTests
{
    private static StoreSignals.CommittedOutputs Outputs(params long[] sequences) =>
        new([.. sequences.Select(s => new OutputRow(s, $"in-{s}", (int)s - 1, [(byte)s]))], Unfinished: 0);

    [Fact]
    public async Task A_watch_taken_before_a_change_is_woken_by_it_and_gets_the_outputs_that_follow_its_cursor()
    {
        var signals = new StoreSignals();
        using var watch = signals.WatchCall("fc-1");
        var waiting = watch.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

        signals.CallChanged("fc-1", Outputs(1, 2));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        var committed = watch.CommittedAfter(0);
        Assert.NotNull(committed);
        Assert.Equal([1L, 2L], committed.Rows.Select(r => r.Sequence));
        // Outputs that do not directly follow the cursor (some were committed before, or others in between) are not used.
        Assert.Null(watch.CommittedAfter(1));
        Assert.Null(watch.CommittedAfter(2));
    }

    [Fact]
    public async Task A_change_without_outputs_leaves_the_waiter_to_read_the_store()
    {
        var signals = new StoreSignals();
        using var watch = signals.WatchCall("fc-1");
        signals.CallChanged("fc-1", Outputs(1));
        signals.CallChanged("fc-1");

        await watch.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.Null(watch.CommittedAfter(0));
    }

    [Fact]
    public void Outputs_of_a_call_nobody_watches_are_not_kept()
    {
        var signals = new StoreSignals();
        signals.CallChanged("fc-1", Outputs(1));
        Assert.Equal(0, signals.WatchedCalls);

        using var watch = signals.WatchCall("fc-1");
        Assert.Null(watch.CommittedAfter(0));
    }
}
