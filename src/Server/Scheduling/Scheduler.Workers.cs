using System.Security.Cryptography;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Modal.Api;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

internal sealed partial class Scheduler
{
    /// <summary>The container presenting these credentials; UNAUTHENTICATED otherwise.</summary>
    public ContainerState Authenticate(string? containerId, string? token)
    {
        lock (_gate)
        {
            if (containerId is null || !_containers.TryGetValue(containerId, out var container) || container.Exited)
            {
                throw Errors.Unauthenticated(
                    $"Unknown container '{containerId}': workers must present x-modal-container-id and x-modal-container-token " +
                    "as given by the launcher in MODAL_CONTAINER_ID and MODAL_CONTAINER_TOKEN.");
            }
            if (token is null || !CryptographicOperations.FixedTimeEquals(
                    System.Text.Encoding.UTF8.GetBytes(token), System.Text.Encoding.UTF8.GetBytes(container.Token)))
            {
                throw Errors.Unauthenticated($"Wrong token for container '{containerId}'.");
            }
            container.LastSeenMs = NowMs;
            return container;
        }
    }

    /// <summary>Whether the credentials belong to a live container (workers may also call functions).</summary>
    public bool IsContainer(string? containerId, string? token)
    {
        try
        {
            Authenticate(containerId, token);
            return true;
        }
        catch (Grpc.Core.RpcException)
        {
            return false;
        }
    }

    public ContainerHelloResponse Hello(ContainerState container)
    {
        lock (_gate)
        {
            var function = container.Function;
            container.SaidHello = true;
            function.LaunchFailures = 0;
            return new ContainerHelloResponse
            {
                AppId = function.App.Id,
                AppName = function.App.Name,
                FunctionId = function.Id,
                Function = function.Spec,
            };
        }
    }

    /// <summary>An input stream opened; returns the channel it reads assignments from.</summary>
    public ChannelReader<InputAssignment> OpenInputStream(ContainerState container)
    {
        lock (_gate)
        {
            container.StreamsOpen++;
            container.Credits = 0;
            return container.Assignments.Reader;
        }
    }

    public void CloseInputStream(ContainerState container)
    {
        lock (_gate)
        {
            container.StreamsOpen--;
            container.Credits = 0;
        }
    }

    /// <summary>Credits are additive: each message grants that many more inputs (batches).</summary>
    public void AddCredits(ContainerState container, int freeSlots)
    {
        if (freeSlots <= 0)
        {
            return;
        }
        lock (_gate)
        {
            container.LastSeenMs = NowMs;
            container.Credits = (int)Math.Min((long)container.Credits + freeSlots, 1_000_000);
            Pump(container.Function);
        }
    }

    public async Task PutOutputsAsync(ContainerState container, FunctionPutOutputsRequest request)
    {
        Task written;
        lock (_gate)
        {
            long now = NowMs;
            container.LastSeenMs = now;
            var function = container.Function;
            foreach (var output in request.Outputs)
            {
                if (!container.Running.TryGetValue(output.InputId, out var input) || input.Attempt != output.Attempt)
                {
                    // Stale (an older attempt), duplicate, or the input already finished (cancelled, timed out).
                    continue;
                }
                var result = output.Result ?? new FunctionResult { Status = InputStatus.Failure, ExceptionMessage = "The worker sent no result." };
                // Generators are not retried: their items may already have reached the caller.
                var policy = function.Spec.Retries;
                if (result.Status == InputStatus.Failure && policy is not null && input.RetriesUsed < policy.MaxRetries && !input.Call.Cancelled
                    && !input.Call.IsGenerator)
                {
                    Requeue(input, internalFailure: false, RetryDelay(policy, input.RetriesUsed + 1));
                }
                else
                {
                    Finish(input, result);
                }
            }
            written = Flush();
        }
        await written.ConfigureAwait(false);
    }

    /// <summary>The wait before retry <paramref name="retryNumber"/>: initial * coefficient^(n-1), capped.</summary>
    internal static TimeSpan RetryDelay(RetryPolicy policy, int retryNumber)
    {
        double coefficient = policy.BackoffCoefficient > 0 ? policy.BackoffCoefficient : 2.0;
        double maxDelay = policy.MaxDelayMs > 0 ? policy.MaxDelayMs : 60_000;
        double delay = Math.Max(0, policy.InitialDelayMs) * Math.Pow(coefficient, retryNumber - 1);
        return TimeSpan.FromMilliseconds(Math.Min(delay, maxDelay));
    }

    public async Task PutDataOutAsync(ContainerState container, FunctionPutDataOutRequest request)
    {
        CallState call;
        Task written;
        lock (_gate)
        {
            container.LastSeenMs = NowMs;
            if (!container.Running.TryGetValue(request.InputId, out var input) || input.Attempt != request.Attempt)
            {
                return;
            }
            call = input.Call;
            written = _store.InsertChunksAsync(call.Id, request.Chunks.Select(c => new ChunkRecord(c.Index, c.Data.ToByteArray())).ToList());
        }
        await written.ConfigureAwait(false);
        call.Signal();
    }

    public ContainerHeartbeatResponse Heartbeat(ContainerState container)
    {
        lock (_gate)
        {
            container.LastSeenMs = NowMs;
            var response = new ContainerHeartbeatResponse { Stop = container.Stopping || container.Function.App.Stopped };
            response.CancelledInputIds.AddRange(container.PendingCancellations);
            container.PendingCancellations.Clear();
            return response;
        }
    }

    public void PublishLogs(ContainerState container, IEnumerable<LogLine> lines)
    {
        string functionName = container.Function.Spec.Name;
        _logs.Publish(container.Function.App.Id, lines.Select(line =>
        {
            var copy = line.Clone();
            copy.ContainerId = container.Id;
            if (string.IsNullOrEmpty(copy.FunctionName))
            {
                copy.FunctionName = functionName;
            }
            return copy;
        }));
    }
}
