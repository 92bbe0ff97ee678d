using System.Diagnostics;

namespace Modal.EndToEnd;

/// <summary>Samples this process's GC heap every few milliseconds and keeps the peak; the OS keeps the peak working set.</summary>
internal sealed class MemorySampler : IAsyncDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(5);

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private long _peakGcHeapBytes;

    private MemorySampler() => _sampling = SampleAsync(_stop.Token);

    /// <summary>The largest GC heap size seen so far (bytes in use by managed objects, collected or not yet).</summary>
    public long PeakGcHeapBytes => Math.Max(Interlocked.Read(ref _peakGcHeapBytes), GC.GetTotalMemory(forceFullCollection: false));

    /// <summary>The process's peak resident set (VmHWM on Linux).</summary>
    public static long PeakWorkingSetBytes
    {
        get
        {
            using var process = Process.GetCurrentProcess();
            return process.PeakWorkingSet64;
        }
    }

    public static MemorySampler Start() => new();

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(s_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var heap = GC.GetTotalMemory(forceFullCollection: false);
                if (heap > Interlocked.Read(ref _peakGcHeapBytes))
                {
                    Interlocked.Exchange(ref _peakGcHeapBytes, heap);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _sampling.ConfigureAwait(false);
        _stop.Dispose();
    }
}
