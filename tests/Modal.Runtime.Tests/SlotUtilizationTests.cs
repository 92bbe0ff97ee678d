namespace Modal.Runtime.Tests;

/// <summary>The worker's measure of how busy its input slots are, which its heartbeats carry to the autoscaler.</summary>
public sealed class SlotUtilizationTests
{
    /// <summary>A monotonic clock that moves only when told (one tick per millisecond).</summary>
    private sealed class SteppedClock : TimeProvider
    {
        public long Milliseconds { get; set; }

        public override long TimestampFrequency => 1_000;

        public override long GetTimestamp() => Milliseconds;
    }

    [Fact]
    public void There_is_no_measure_before_the_first_input()
    {
        var clock = new SteppedClock { Milliseconds = 5_000 };
        var utilization = new SlotUtilization(slots: 2, clock);

        clock.Milliseconds += 1_000;

        Assert.Null(utilization.TakeMeasure());
    }

    [Fact]
    public void The_measure_is_the_share_of_slot_time_spent_running_since_the_first_input_then_since_the_previous_measure()
    {
        var clock = new SteppedClock();
        var utilization = new SlotUtilization(slots: 2, clock);

        utilization.Started();            // t = 0: one of two slots busy
        clock.Milliseconds = 500;
        utilization.Started();            // t = 0.5 s: both busy
        clock.Milliseconds = 1_000;
        utilization.Ended();              // t = 1 s: one busy
        // 0.5 s × 1 slot + 0.5 s × 2 slots = 1.5 slot-seconds of 2 slot-seconds.
        Assert.Equal(0.75, utilization.TakeMeasure()!.Value, 6);

        clock.Milliseconds = 1_250;
        utilization.Ended();              // t = 1.25 s: idle
        clock.Milliseconds = 2_000;
        // 0.25 slot-seconds of 2 slot-seconds in the second window.
        Assert.Equal(0.125, utilization.TakeMeasure()!.Value, 6);

        clock.Milliseconds = 3_000;
        Assert.Equal(0.0, utilization.TakeMeasure()!.Value, 6);
    }

    [Fact]
    public void An_input_running_through_a_whole_window_keeps_its_slot_busy_for_all_of_it()
    {
        var clock = new SteppedClock();
        var utilization = new SlotUtilization(slots: 1, clock);
        utilization.Started();

        clock.Milliseconds = 1_000;
        Assert.Equal(1.0, utilization.TakeMeasure()!.Value, 6);
        clock.Milliseconds = 2_000;
        Assert.Equal(1.0, utilization.TakeMeasure()!.Value, 6);
    }
}
