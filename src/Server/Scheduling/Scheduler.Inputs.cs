using Modal.Api;

namespace Modal.Server.Scheduling;

internal sealed partial class Scheduler
{
    /// <summary>Takes an input out of wherever it is. Caller holds the lock.</summary>
    private static void Detach(InputState input)
    {
        var function = input.Call.Function;
        switch (input.Location)
        {
            case InputLocation.Ready:
                function.ReadyCount--;
                break;
            case InputLocation.Delayed:
                function.DelayedCount--;
                break;
            case InputLocation.Running:
                if (input.Container is { } container && container.Running.Remove(input.Id))
                {
                    function.RunningCount--;
                    if (container.Running.Count == 0)
                    {
                        container.IdleSinceMs = NowMs;
                    }
                }
                break;
        }
        input.Container = null;
        // Stale queue entries are skipped because the location no longer says Ready or Delayed.
        input.Location = InputLocation.Finished;
    }

    /// <summary>Records the one final output of an input. Caller holds the lock and flushes.</summary>
    private void Finish(InputState input, FunctionResult result)
    {
        if (input.Location == InputLocation.Finished)
        {
            return;
        }
        Detach(input);
        input.Call.Unfinished.Remove(input.Id);
        input.Call.LastActivityMs = NowMs;
        _completions.Add((input, result));
    }

    /// <summary>Puts an input back for another attempt, after a delay for user-exception retries. Caller holds the lock.</summary>
    private void Requeue(InputState input, bool internalFailure, TimeSpan delay)
    {
        Detach(input);
        input.Attempt++;
        if (internalFailure)
        {
            input.InternalFailures++;
        }
        else
        {
            input.RetriesUsed++;
        }
        _attemptUpdates.Add((input.Id, input.Attempt, input.RetriesUsed, input.InternalFailures));
        long now = NowMs;
        if (delay > TimeSpan.Zero)
        {
            input.Location = InputLocation.Delayed;
            input.Call.Function.DelayedCount++;
            input.Call.Function.Delayed.Enqueue(input, now + (long)delay.TotalMilliseconds);
        }
        else
        {
            MakeReady(input, now);
        }
        Wake();
    }

    /// <summary>An input's container died or went silent: re-queue it, or fail it after too many such failures.</summary>
    private void FailInternally(InputState input, string reason)
    {
        if (input.Call.Cancelled)
        {
            Finish(input, Terminated());
        }
        else if (input.InternalFailures < _options.InternalFailureRetries)
        {
            Requeue(input, internalFailure: true, TimeSpan.Zero);
        }
        else
        {
            Finish(input, new FunctionResult
            {
                Status = InputStatus.Failure,
                ExceptionType = "Modal.ContainerFailure",
                ExceptionMessage =
                    $"Input {input.Id} failed: its container failed {input.InternalFailures + 1} times " +
                    $"(the limit is {_options.InternalFailureRetries} re-queues). Last failure: {reason}",
            });
        }
    }

    private static FunctionResult Terminated() => new()
    {
        Status = InputStatus.Terminated,
        ExceptionType = "Modal.InputCancelled",
        ExceptionMessage = "The input was cancelled.",
    };

    /// <summary>The oldest ready input, skipping stale entries. Caller holds the lock.</summary>
    private static InputState? PeekReady(FunctionState function)
    {
        while (function.Ready.TryPeek(out var input))
        {
            if (input.Location == InputLocation.Ready)
            {
                return input;
            }
            function.Ready.Dequeue();
        }
        return null;
    }

    private static InputState? DequeueReady(FunctionState function)
    {
        var input = PeekReady(function);
        if (input is not null)
        {
            function.Ready.Dequeue();
            function.ReadyCount--;
        }
        return input;
    }

    /// <summary>Moves retries whose delay has passed to the ready queue. Caller holds the lock.</summary>
    private static void PromoteDelayed(FunctionState function, long now)
    {
        while (function.Delayed.TryPeek(out var input, out long due) && due <= now)
        {
            function.Delayed.Dequeue();
            if (input.Location == InputLocation.Delayed)
            {
                function.DelayedCount--;
                input.Location = InputLocation.Ready;
                input.ReadySinceMs = now;
                function.Ready.Enqueue(input);
                function.ReadyCount++;
            }
        }
    }

    /// <summary>
    /// Leases ready inputs to the function's connected containers with free credits, round robin; batched functions
    /// get whole batches once full or once the oldest input has waited wait_ms. Caller holds the lock.
    /// </summary>
    private void Pump(FunctionState function)
    {
        if (function.ReadyCount == 0 || function.App.Stopped)
        {
            return;
        }
        var eligible = function.Containers.Where(c => !c.Stopping && !c.Exited && c.StreamsOpen > 0 && c.Credits > 0).ToList();
        long now = NowMs;
        while (eligible.Count > 0 && function.ReadyCount > 0)
        {
            int take = 1;
            if (function.IsBatched)
            {
                var oldest = PeekReady(function);
                if (oldest is null)
                {
                    break;
                }
                if (function.ReadyCount < function.MaxBatchSize && now - oldest.ReadySinceMs < function.Spec.Batch.WaitMs)
                {
                    break;
                }
                take = Math.Min(function.MaxBatchSize, function.ReadyCount);
            }
            var container = eligible[function.RoundRobin++ % eligible.Count];
            var assignment = new InputAssignment();
            long deadline = now + function.TimeoutSeconds * 1000L;
            for (int i = 0; i < take; i++)
            {
                var input = DequeueReady(function);
                if (input is null)
                {
                    break;
                }
                input.Location = InputLocation.Running;
                input.Container = container;
                input.DeadlineMs = deadline;
                container.Running[input.Id] = input;
                function.RunningCount++;
                assignment.Inputs.Add(new LeasedInput
                {
                    InputId = input.Id,
                    FunctionCallId = input.Call.Id,
                    Index = input.Index,
                    Attempt = input.Attempt,
                    Arguments = input.Arguments,
                    DeadlineUnixMs = deadline,
                    IsGeneratorCall = input.Call.IsGenerator,
                });
            }
            if (assignment.Inputs.Count == 0)
            {
                break;
            }
            container.Credits--;
            container.Assignments.Writer.TryWrite(assignment);
            if (container.Credits == 0)
            {
                eligible.Remove(container);
            }
        }
    }

    /// <summary>The milliseconds until a partial batch must be sent, for the loop's next wake.</summary>
    private static long? BatchDueInMs(FunctionState function, long now) =>
        function.IsBatched && PeekReady(function) is { } oldest
            ? Math.Max(0, oldest.ReadySinceMs + function.Spec.Batch.WaitMs - now)
            : null;
}
