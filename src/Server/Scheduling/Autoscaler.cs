using Modal.Api;
using Modal.Server.Launching;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

/// <summary>What the autoscaler decided for one pass: containers to launch per function, idle containers to stop.</summary>
internal sealed record ScalePlan(IReadOnlyList<(FunctionLoad Function, int Count)> Launches, IReadOnlyList<(string ContainerId, string Reason)> Stops);

/// <summary>
/// desired = ceil(work / target inputs per container) + buffer while busy, at least min containers and the warm pool, at most
/// max containers; idle containers past the scaledown window stop. A pure function of the store's load and containers, so
/// that it is tested without processes. It reads each spec with the function's FunctionUpdateAutoscaler settings laid over
/// it (<see cref="FunctionLoad.ScalingSpec"/>). A function of a superseded version of a deployed app gets containers for its
/// remaining work only (no minimum, buffer or warm pool) and stops them as soon as they are idle, so that the old version
/// drains while new calls go to the new one.
/// <para>
/// Placement: a container is admitted while its request (<see cref="Placement.AdmittedRequestOf"/>: its request, and at least the launcher's floor per container) fits what the containers not
/// yet ended leave of the capacity; the rest wait for a later pass. Admission is fair: one container at a time goes to the
/// function that has the fewest (ties: the one whose oldest input waited longest), so one function's map cannot take the
/// places of another's first containers. A function that does not fit takes the place of idle containers of others
/// (beyond their minimum and warm pool); a function with work and no container at all also takes the place of one busy
/// container of the function that has the most (it is asked to stop: it takes no new inputs and exits). At most
/// <c>maxStarting</c> containers are starting (launched, no hello yet) at once: starts compete for the same cores, and a
/// storm of them makes every one slow.
/// </para>
/// <para>
/// Containers are added for a backlog only while they would raise throughput (<see cref="BoundByUtilization"/>): a function
/// gets up to <see cref="LauncherCapacity.ContainersBeforeUtilization"/> containers before any has measured how busy its
/// input slots are, and more only while the measured ones are at least <see cref="BusyUtilization"/> busy. Containers of a
/// trivial function mostly wait for their next input (the path around the function is what limits it), and each extra
/// worker process only takes CPU from that path; containers of a slow function are busy, and get the full backlog's worth.
/// </para>
/// </summary>
internal static class Autoscaler
{
    /// <summary>The mean share of slot-time a function's containers must spend running inputs for a backlog to add more.</summary>
    public const double BusyUtilization = 0.5;

    /// <summary>
    /// <paramref name="desired"/> (what the backlog asks for), held to the containers the function has when more would not
    /// raise its throughput: up to <paramref name="beforeUtilization"/> containers while none has measured its utilization;
    /// then as many as the backlog asks while the measured ones are busy (<see cref="BusyUtilization"/>), else no more.
    /// </summary>
    public static long BoundByUtilization(long desired, IReadOnlyList<ContainerRow> containers, int beforeUtilization)
    {
        if (desired <= containers.Count)
        {
            return desired;
        }
        double sum = 0;
        int measured = 0;
        foreach (var container in containers)
        {
            if (container.SaidHello && container.SlotUtilization is { } utilization)
            {
                sum += utilization;
                measured++;
            }
        }
        if (measured == 0)
        {
            return Math.Min(desired, Math.Max(containers.Count, beforeUtilization));
        }
        return sum / measured >= BusyUtilization ? desired : containers.Count;
    }
    /// <summary>A function short of containers in this pass.</summary>
    private sealed class Shortfall(FunctionLoad function, FunctionSpec spec, ResourceRequest request, int containers, long wanted)
    {
        public FunctionLoad Function { get; } = function;
        public FunctionSpec Spec { get; } = spec;
        public ResourceRequest Request { get; } = request;
        public int Containers { get; set; } = containers;
        public long Wanted { get; set; } = wanted;
        public int Launches { get; set; }
    }

    public static ScalePlan Plan(IReadOnlyList<FunctionLoad> functions, IReadOnlyList<ContainerRow> containers, long nowMs, Placement placement,
        int maxStarting, Func<string, bool> mayLaunch)
    {
        var stops = new List<(string, string)>();
        var stopping = new HashSet<string>(StringComparer.Ordinal);
        var live = containers.Where(c => !c.StopRequested).ToList();
        var byFunction = live.GroupBy(c => c.FunctionId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var specs = functions.ToDictionary(f => f.FunctionId, f => f.ScalingSpec(), StringComparer.Ordinal);
        // A container of a stopped app (not in the load) is on its way out; it holds the default request until it exits.
        ResourceRequest RequestOf(string functionId) =>
            specs.TryGetValue(functionId, out var spec) ? placement.AdmittedRequestOf(spec) : placement.AdmittedRequestOf(new FunctionSpec());
        var ledger = new CapacityLedger(placement);
        foreach (var container in containers)
        {
            ledger.Hold(RequestOf(container.FunctionId), stopping: container.StopRequested);
        }
        var keepOf = functions.ToDictionary(f => f.FunctionId, f => f.Superseded ? 0 : Math.Max(specs[f.FunctionId].MinContainers, f.WarmPool),
            StringComparer.Ordinal);
        var shortfalls = new List<Shortfall>();
        foreach (var function in functions)
        {
            var spec = specs[function.FunctionId];
            var mine = byFunction.GetValueOrDefault(function.FunctionId) ?? [];
            if (!WorkerLaunchSpec.Parser.ParseFrom(function.Launch).LaunchesWorkers())
            {
                continue;
            }
            long work = function.Ready + function.Running;
            long perContainer = Math.Max(1, FunctionLimits.TargetInputsPerContainer(spec));
            long buffer = function.Superseded ? 0 : Math.Max(0, spec.BufferContainers);
            // The buffer the function asks for comes on top of what its work is given.
            long desired = work == 0 ? 0
                : BoundByUtilization((work + perContainer - 1) / perContainer, mine, placement.Capacity.ContainersBeforeUtilization) + buffer;
            desired = Math.Max(desired, keepOf[function.FunctionId]);
            if (spec.MaxContainers > 0)
            {
                desired = Math.Min(desired, spec.MaxContainers);
            }
            if (mine.Count < desired)
            {
                // A request larger than the whole capacity is refused at AppCreate; one left from before a restart with less
                // capacity waits rather than taking the places of others it could never use.
                var request = placement.AdmittedRequestOf(spec);
                if (mayLaunch(function.FunctionId) && placement.Capacity.Holds(request))
                {
                    shortfalls.Add(new Shortfall(function, spec, request, mine.Count, desired - mine.Count));
                }
            }
            else if (mine.Count > desired)
            {
                long windowMs = function.Superseded ? 0 : (long)FunctionLimits.ScaledownWindow(spec).TotalMilliseconds;
                foreach (var container in mine
                    .Where(c => c.SaidHello && c.Running == 0 && nowMs - c.IdleSinceUnixMs >= windowMs && !stopping.Contains(c.Id))
                    .OrderBy(c => c.IdleSinceUnixMs)
                    .Take((int)(mine.Count - desired)))
                {
                    stopping.Add(container.Id);
                    ledger.Releasing(RequestOf(container.FunctionId));
                    stops.Add((container.Id, function.Superseded ? "idle, and a newer version of its app was deployed" : "idle past the scaledown window"));
                }
            }
        }
        int startRoom = maxStarting - live.Count(c => !c.SaidHello);
        var waiting = new List<Shortfall>(shortfalls);
        while (startRoom > 0 && waiting.Count > 0)
        {
            var next = waiting.MinBy(s => (s.Containers, -s.Function.OldestReadyAgeMs))!;
            if (ledger.Fits(next.Request))
            {
                ledger.Take(next.Request);
                next.Containers++;
                next.Launches++;
                startRoom--;
                if (--next.Wanted == 0)
                {
                    waiting.Remove(next);
                }
                continue;
            }
            // It waits for capacity: the rest of this pass's capacity goes to the others, and this function's turn comes
            // first again in a later pass (it has the fewest containers), when what it made room for has been freed.
            waiting.Remove(next);
            MakeRoom(next);
        }

        void MakeRoom(Shortfall shortfall)
        {
            string name = shortfall.Spec.Name;
            // Room for every container it could start now, out of what stopping containers will free.
            long wanted = Math.Min(shortfall.Wanted, startRoom);
            long claimed = 0;
            bool Claimed()
            {
                while (claimed < wanted && ledger.TryClaimOnceReleased(shortfall.Request))
                {
                    claimed++;
                }
                return claimed == wanted;
            }
            foreach (var idle in live
                .Where(c => c.FunctionId != shortfall.Function.FunctionId && c.Running == 0 && !stopping.Contains(c.Id)
                    && functions.FirstOrDefault(f => f.FunctionId == c.FunctionId) is { Ready: 0 })
                .OrderBy(c => c.IdleSinceUnixMs))
            {
                if (Claimed())
                {
                    return;
                }
                int ownerLive = byFunction[idle.FunctionId].Count(c => !stopping.Contains(c.Id));
                if (ownerLive > keepOf.GetValueOrDefault(idle.FunctionId))
                {
                    stopping.Add(idle.Id);
                    ledger.Releasing(RequestOf(idle.FunctionId));
                    stops.Add((idle.Id, $"idle, making room for a container of {name}"));
                }
            }
            if (Claimed() || claimed > 0 || shortfall.Containers > 0)
            {
                return;
            }
            wanted = 1;
            // A function with work and no container: the function with the most containers gives up busy ones until the
            // request fits, and what is free meanwhile is held for it, so that smaller requests cannot keep taking it.
            do
            {
                var largest = byFunction
                    .Where(g => g.Key != shortfall.Function.FunctionId)
                    .Select(g => (FunctionId: g.Key, Active: g.Value.Where(c => !stopping.Contains(c.Id)).ToList()))
                    .Where(g => g.Active.Count > Math.Max(1, keepOf.GetValueOrDefault(g.FunctionId)))
                    .OrderByDescending(g => g.Active.Count)
                    .FirstOrDefault();
                if (largest.Active is null)
                {
                    ledger.HoldFree(shortfall.Request);
                    return;
                }
                // The one with the least work in hand loses the least when it stops.
                var busy = largest.Active.OrderBy(c => c.Running).ThenByDescending(c => c.SaidHello).First();
                stopping.Add(busy.Id);
                ledger.Releasing(RequestOf(busy.FunctionId));
                stops.Add((busy.Id, $"making room for the first container of {name}"));
            }
            while (!Claimed());
        }

        var launches = shortfalls.Where(s => s.Launches > 0).Select(s => (s.Function, s.Launches)).ToList();
        return new ScalePlan(launches, stops);
    }
}
