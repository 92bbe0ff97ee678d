using Modal.Api;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

/// <summary>What the autoscaler decided for one pass: containers to launch per function, idle containers to stop.</summary>
internal sealed record ScalePlan(IReadOnlyList<(FunctionLoad Function, int Count)> Launches, IReadOnlyList<(string ContainerId, string Reason)> Stops);

/// <summary>
/// desired = ceil(work / target inputs per container) + buffer while busy, at least min containers and the warm pool, at most
/// max containers; idle containers past the scaledown window stop. At the total cap, a function short of containers
/// takes the place of idle containers of other functions (beyond their minimum and warm pool). A pure function of
/// the store's load and containers, so that it is tested without processes. It reads each spec with the function's
/// FunctionUpdateAutoscaler settings laid over it (<see cref="FunctionLoad.ScalingSpec"/>). A function of a superseded version of a
/// deployed app gets containers for its remaining work only (no minimum, buffer or warm pool) and stops them as soon as
/// they are idle, so that the old version drains while new calls go to the new one. At most <c>maxStarting</c> containers are
/// starting (launched, no hello yet) at once: starts compete for the same cores, and a storm of them makes every one
/// slow (32 at once on a loaded 2-core machine took seconds each before the first worker connected).
/// </summary>
internal static class Autoscaler
{
    public static ScalePlan Plan(IReadOnlyList<FunctionLoad> functions, IReadOnlyList<ContainerRow> containers, long nowMs, int maxTotalContainers,
        int maxStarting, Func<string, bool> mayLaunch)
    {
        var launches = new List<(FunctionLoad, int)>();
        var stops = new List<(string, string)>();
        var stopping = new HashSet<string>(StringComparer.Ordinal);
        var live = containers.Where(c => !c.StopRequested).ToList();
        int total = live.Count;
        int startRoom = maxStarting - live.Count(c => !c.SaidHello);
        var byFunction = live.GroupBy(c => c.FunctionId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var keepOf = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var function in functions)
        {
            var spec = function.ScalingSpec();
            keepOf[function.FunctionId] = function.Superseded ? 0 : Math.Max(spec.MinContainers, function.WarmPool);
        }
        foreach (var function in functions)
        {
            var spec = function.ScalingSpec();
            var mine = byFunction.GetValueOrDefault(function.FunctionId) ?? [];
            if (!WorkerLaunchSpec.Parser.ParseFrom(function.Launch).LaunchesWorkers())
            {
                continue;
            }
            long work = function.Ready + function.Running;
            long perContainer = Math.Max(1, FunctionLimits.TargetInputsPerContainer(spec));
            long buffer = function.Superseded ? 0 : Math.Max(0, spec.BufferContainers);
            long desired = work == 0 ? 0 : (work + perContainer - 1) / perContainer + buffer;
            desired = Math.Max(desired, keepOf[function.FunctionId]);
            if (spec.MaxContainers > 0)
            {
                desired = Math.Min(desired, spec.MaxContainers);
            }
            if (mine.Count < desired)
            {
                if (startRoom <= 0 || !mayLaunch(function.FunctionId))
                {
                    continue;
                }
                int wanted = (int)Math.Min(Math.Min(desired - mine.Count, maxTotalContainers), startRoom);
                int room = maxTotalContainers - total;
                if (room < wanted)
                {
                    foreach (var idle in containers
                        .Where(c => c.FunctionId != function.FunctionId && !c.StopRequested && c.Running == 0 && !stopping.Contains(c.Id)
                            && functions.FirstOrDefault(f => f.FunctionId == c.FunctionId) is { Ready: 0 })
                        .OrderBy(c => c.IdleSinceUnixMs))
                    {
                        if (room >= wanted)
                        {
                            break;
                        }
                        int ownerLive = byFunction[idle.FunctionId].Count(c => !stopping.Contains(c.Id));
                        if (ownerLive <= keepOf.GetValueOrDefault(idle.FunctionId))
                        {
                            continue;
                        }
                        stopping.Add(idle.Id);
                        stops.Add((idle.Id, $"making room for {spec.Name} at the limit of {maxTotalContainers} containers"));
                        room++;
                    }
                }
                int count = Math.Min(wanted, Math.Max(0, room));
                if (count > 0)
                {
                    launches.Add((function, count));
                    total += count;
                    startRoom -= count;
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
                    stops.Add((container.Id, function.Superseded ? "idle, and a newer version of its app was deployed" : "idle past the scaledown window"));
                }
            }
        }
        return new ScalePlan(launches, stops);
    }
}
