namespace Modal;

/// <summary>
/// How busy the container's input slots are while it has work: the share of slot-time spent running assignments, between
/// heartbeats, from the first assignment on. Idle gaps longer than <see cref="WorkGap"/> (the container had nothing to run,
/// for instance between two maps) do not count: a measure says how busy the container was when work was there, so a
/// window with no work in it has no measure (the control plane keeps the last one). The control plane's autoscaler adds
/// containers to a function with a backlog only while its containers are busy: a trivial function whose containers mostly
/// wait for their next input (gaps of about a millisecond) is held back by the path around it, and more worker processes
/// only take CPU from that path.
/// </summary>
internal sealed class SlotUtilization(int slots, TimeProvider time)
{
    /// <summary>An idle gap longer than this is a time without work, not the wait for the next input.</summary>
    public static readonly TimeSpan WorkGap = TimeSpan.FromMilliseconds(100);

    private readonly Lock _gate = new();
    private readonly int _slots = Math.Max(1, slots);
    private readonly long _workGapTicks = (long)(WorkGap.TotalSeconds * time.TimestampFrequency);
    private int _running;
    private long _windowStart = -1;
    private long _last;
    private long _idleSince;
    private long _excluded;
    private double _busySlotTicks;

    /// <summary>An assignment started running in one slot.</summary>
    public void Started()
    {
        lock (_gate)
        {
            long now = time.GetTimestamp();
            if (_windowStart < 0)
            {
                _windowStart = now;
                _last = now;
            }
            else if (_running == 0)
            {
                _excluded += LongGap(now);
            }
            Integrate(now);
            _running++;
        }
    }

    /// <summary>An assignment ended; its slot is free.</summary>
    public void Ended()
    {
        lock (_gate)
        {
            long now = time.GetTimestamp();
            Integrate(now);
            _running = Math.Max(0, _running - 1);
            if (_running == 0)
            {
                _idleSince = now;
            }
        }
    }

    /// <summary>
    /// The share (0 to 1) of slot-time busy while there was work since the previous call (or the first assignment), and a
    /// new window from now; null before the first assignment or when the window held no work.
    /// </summary>
    public double? TakeMeasure()
    {
        lock (_gate)
        {
            if (_windowStart < 0)
            {
                return null;
            }
            long now = time.GetTimestamp();
            Integrate(now);
            long excluded = _excluded + (_running == 0 ? LongGap(now) : 0);
            long window = now - _windowStart - excluded;
            double busy = _busySlotTicks;
            _windowStart = now;
            _excluded = 0;
            _busySlotTicks = 0;
            if (_running == 0)
            {
                // The idle time before this measure belongs to it; the next window starts idle from now.
                _idleSince = now;
            }
            return window <= 0 ? null : Math.Clamp(busy / ((double)window * _slots), 0, 1);
        }
    }

    /// <summary>The part of the idle time since <see cref="_idleSince"/> (within this window) that is a time without work.</summary>
    private long LongGap(long now)
    {
        long gap = now - Math.Max(_idleSince, _windowStart);
        return gap > _workGapTicks ? gap : 0;
    }

    private void Integrate(long now)
    {
        _busySlotTicks += (double)_running * (now - _last);
        _last = now;
    }
}
