namespace Modal;

/// <summary>
/// How busy the container's input slots are: the share of slot-time spent running assignments, from the first assignment
/// (a container that has run nothing has no measure) and then between heartbeats. The control plane's autoscaler adds
/// containers to a function with a backlog only while its containers are busy: a trivial function whose containers mostly
/// wait for their next input is held back by the path around it, and more worker processes only take CPU from that path.
/// </summary>
internal sealed class SlotUtilization(int slots, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly int _slots = Math.Max(1, slots);
    private int _running;
    private long _windowStart = -1;
    private long _last;
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
            Integrate(now);
            _running++;
        }
    }

    /// <summary>An assignment ended; its slot is free.</summary>
    public void Ended()
    {
        lock (_gate)
        {
            Integrate(time.GetTimestamp());
            _running = Math.Max(0, _running - 1);
        }
    }

    /// <summary>
    /// The share (0 to 1) of slot-time busy since the previous call (or the first assignment), and a new window from now;
    /// null before the first assignment or when no time has passed.
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
            long window = now - _windowStart;
            double busy = _busySlotTicks;
            _windowStart = now;
            _busySlotTicks = 0;
            return window <= 0 ? null : Math.Clamp(busy / ((double)window * _slots), 0, 1);
        }
    }

    private void Integrate(long now)
    {
        _busySlotTicks += (double)_running * (now - _last);
        _last = now;
    }
}
