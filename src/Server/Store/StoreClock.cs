namespace Modal.Server.Store;

/// <summary>
/// A store's clock in Unix milliseconds that never jumps: the wall clock read once at open, then advanced by the
/// monotonic clock. A wall-clock jump while the process runs moves nothing; a restart re-anchors it.
/// </summary>
internal sealed class StoreClock
{
    private readonly TimeProvider _time;
    private readonly long _anchorUnixMs;
    private readonly long _anchorTimestamp;

    public StoreClock(TimeProvider time)
    {
        _time = time;
        _anchorUnixMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        _anchorTimestamp = time.GetTimestamp();
    }

    public long NowMs => _anchorUnixMs + (long)_time.GetElapsedTime(_anchorTimestamp).TotalMilliseconds;
}
