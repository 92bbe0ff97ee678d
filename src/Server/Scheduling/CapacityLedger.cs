using Modal.Server.Launching;

namespace Modal.Server.Scheduling;

/// <summary>
/// One autoscaler pass's account of the capacity: what is free now (capacity minus the requests of every container that
/// has not ended, stopping ones included, since their processes still run), and what the stopping containers will free
/// when they exit. Counts are a dimension like cores: every container takes one of <see cref="Placement.MaxContainers"/>.
/// </summary>
internal sealed class CapacityLedger
{
    /// <summary>Requests are sums of decimal fractions (0.1 cores × 20): a rounding error must not refuse the last one.</summary>
    private const double Tolerance = 1e-9;

    private Amounts _free;
    private Amounts _releasing;

    public CapacityLedger(Placement placement)
    {
        var capacity = placement.Capacity;
        _free = new Amounts(capacity.Cpu, capacity.MemoryMb, capacity.Gpus, placement.MaxContainers);
    }

    /// <summary>A container that has not ended holds its request; a stopping one frees it when it exits.</summary>
    public void Hold(ResourceRequest request, bool stopping)
    {
        _free -= Amounts.Of(request);
        if (stopping)
        {
            _releasing += Amounts.Of(request);
        }
    }

    /// <summary>A container asked to stop in this pass: its request comes free when it exits.</summary>
    public void Releasing(ResourceRequest request) => _releasing += Amounts.Of(request);

    /// <summary>Whether a container with this request may start now.</summary>
    public bool Fits(ResourceRequest request) => _free.Covers(Amounts.Of(request));

    /// <summary>Takes the request for a container that starts now.</summary>
    public void Take(ResourceRequest request) => _free -= Amounts.Of(request);

    /// <summary>
    /// Reserves the request out of what is free and what stopping containers will free, if that covers it, so that no
    /// other function of this pass counts on the same release; false (nothing reserved) when it does not.
    /// </summary>
    public bool TryClaimOnceReleased(ResourceRequest request)
    {
        var wanted = Amounts.Of(request);
        if (!(_free + _releasing).Covers(wanted))
        {
            return false;
        }
        var fromFree = Amounts.Min(Amounts.AtLeastZero(_free), wanted);
        _free -= fromFree;
        _releasing -= wanted - fromFree;
        return true;
    }

    /// <summary>Holds what is free, up to the request, for a container that waits for more: nothing else of this pass takes it.</summary>
    public void HoldFree(ResourceRequest request) => _free -= Amounts.Min(Amounts.AtLeastZero(_free), Amounts.Of(request));

    private readonly record struct Amounts(double Cpu, double MemoryMb, double Gpus, double Containers)
    {
        public static Amounts Of(ResourceRequest request) => new(request.Cpu, request.MemoryMb, request.Gpus, 1);

        public bool Covers(Amounts wanted) =>
            Cpu + Tolerance >= wanted.Cpu && MemoryMb + Tolerance >= wanted.MemoryMb && Gpus >= wanted.Gpus && Containers >= wanted.Containers;

        public static Amounts Min(Amounts a, Amounts b) =>
            new(Math.Min(a.Cpu, b.Cpu), Math.Min(a.MemoryMb, b.MemoryMb), Math.Min(a.Gpus, b.Gpus), Math.Min(a.Containers, b.Containers));

        public static Amounts AtLeastZero(Amounts a) =>
            new(Math.Max(0, a.Cpu), Math.Max(0, a.MemoryMb), Math.Max(0, a.Gpus), Math.Max(0, a.Containers));

        public static Amounts operator +(Amounts a, Amounts b) => new(a.Cpu + b.Cpu, a.MemoryMb + b.MemoryMb, a.Gpus + b.Gpus, a.Containers + b.Containers);

        public static Amounts operator -(Amounts a, Amounts b) => new(a.Cpu - b.Cpu, a.MemoryMb - b.MemoryMb, a.Gpus - b.Gpus, a.Containers - b.Containers);
    }
}
