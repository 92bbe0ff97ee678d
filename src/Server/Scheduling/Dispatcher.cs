using Google.Protobuf;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Modal.Api;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

/// <summary>
/// Feeds the workers connected to this replica: whenever work may be ready (an enqueue or a retry here, a
/// notification from another replica, a poll) or a worker frees a slot, it claims inputs for every function with
/// hungry workers (claims of all functions go out together, so they share a group commit) and hands the assignments
/// to their streams. A claim is fenced in the store; an assignment whose stream broke is re-queued by the heartbeat.
/// </summary>
internal sealed class Dispatcher(IControlStore store, WorkerSessions sessions, ControlPlaneOptions options, ILogger<Dispatcher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var work = store.Signals.NextWork;
            var credits = sessions.NextCredits;
            bool claimedAny = false;
            try
            {
                var claims = sessions.Hungry().Select(group => ClaimAsync(group.Key, group.ToList())).ToList();
                claimedAny = (await Task.WhenAll(claims).ConfigureAwait(false)).Any(n => n > 0);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogError(exception, "Claiming inputs failed; retrying");
                await Task.Delay(options.PollInterval, stoppingToken).ConfigureAwait(false);
            }
            if (claimedAny)
            {
                continue; // There may be more: claim again before sleeping.
            }
            try
            {
                await Task.WhenAny(work, credits, Task.Delay(options.DispatchPollInterval, stoppingToken)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<int> ClaimAsync(string functionId, List<WorkerSession> hungry)
    {
        var credits = hungry.Select(s => new ContainerCredit(s.ContainerId, Math.Min(s.Credits, 1_000))).ToList();
        var assignments = await store.ClaimAsync(functionId, credits).ConfigureAwait(false);
        foreach (var claimed in assignments)
        {
            var assignment = ToAssignment(claimed);
            if (!sessions.Deliver(claimed.ContainerId, assignment))
            {
                logger.LogDebug("Container {Container} closed its stream before its assignment arrived; its heartbeat re-queues it", claimed.ContainerId);
            }
        }
        return assignments.Count;
    }

    /// <summary>What the worker receives for one claimed assignment.</summary>
    public static InputAssignment ToAssignment(ClaimedAssignment claimed)
    {
        var assignment = new InputAssignment();
        foreach (var input in claimed.Inputs)
        {
            assignment.Inputs.Add(new LeasedInput
            {
                InputId = input.InputId,
                FunctionCallId = input.CallId,
                Index = input.Index,
                Attempt = input.Attempt,
                Arguments = Payload.Parser.ParseFrom(input.Arguments),
                DeadlineUnixMs = input.DeadlineUnixMs,
                IsGeneratorCall = input.IsGenerator,
            });
        }
        return assignment;
    }
}
