using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Modal.EndToEnd;

/// <summary>
/// With <c>--allocations</c>: the runtime's allocation sampling (one GCAllocationTick event about every 100 KB
/// allocated), summed by type, to see where a phase's bytes go. Sampled, so only the larger shares mean anything.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);
    private volatile bool _recording;

    /// <summary>Starts counting; earlier samples are dropped.</summary>
    public void Start()
    {
        _bytesByType.Clear();
        _recording = true;
    }

    /// <summary>Stops counting and returns the <paramref name="count"/> types with the most sampled bytes.</summary>
    public IReadOnlyList<(string Type, long Bytes)> Stop(int count)
    {
        _recording = false;
        return _bytesByType.OrderByDescending(pair => pair.Value).Take(count).Select(pair => (pair.Key, pair.Value)).ToList();
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal)
            || eventData.PayloadNames is null || eventData.Payload is null)
        {
            return;
        }
        var typeIndex = eventData.PayloadNames.IndexOf("TypeName");
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (typeIndex < 0 || amountIndex < 0)
        {
            return;
        }
        var type = eventData.Payload[typeIndex] as string ?? "?";
        var amount = Convert.ToInt64(eventData.Payload[amountIndex], System.Globalization.CultureInfo.InvariantCulture);
        _bytesByType.AddOrUpdate(type, amount, (_, total) => total + amount);
    }
}
