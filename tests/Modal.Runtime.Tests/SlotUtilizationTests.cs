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

    /// <summary>One input that runs in one slot from <paramref name="startMs"/> to <paramref name="endMs"/>.</summary>
    private static void Run(SlotUtilization utilization, SteppedClock clock, long startMs, long endMs)
    {
        clock.Milliseconds = startMs;
        utilization.Started();
        clock.Milliseconds = endMs;
        utilization.Ended();
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
        utilization.Ended();              // t = 1.25 s: idle, for longer than a wait for the next input
        clock.Milliseconds = 2_000;
        // The idle 0.75 s had no work in it: 0.25 slot-seconds of 0.5 (0.25 s of 2 slots).
        Assert.Equal(0.5, utilization.TakeMeasure()!.Value, 6);

        // A window without work has no measure (the control plane keeps the last one).
        clock.Milliseconds = 3_000;
        Assert.Null(utilization.TakeMeasure());
    }

    [Fact]
    public void Short_waits_for_the_next_input_count_as_idle_slot_time()
    {
        var clock = new SteppedClock();
        var utilization = new SlotUtilization(slots: 1, clock);
        // A trivial function: each input runs 1 ms, then the slot waits 9 ms for the next one.
        for (int i = 0; i < 100; i++)
        {
            Run(utilization, clock, i * 10, i * 10 + 1);
        }
        clock.Milliseconds = 1_000;

        Assert.Equal(0.1, utilization.TakeMeasure()!.Value, 6);
    }

    [Fact]
    public void Long_idle_gaps_between_runs_of_work_are_left_out()
    {
        var clock = new SteppedClock();
        var utilization = new SlotUtilization(slots: 1, clock);
        Run(utilization, clock, 0, 500);
        Run(utilization, clock, 5_000, 5_500); // after 4.5 s without work (between two maps)
        clock.Milliseconds = 6_000;            // and 0.5 s more at the end of the window

        Assert.Equal(1.0, utilization.TakeMeasure()!.Value, 6);
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
