using Grpc.Core;
using Modal.Api;
using Modal.Server.Scheduling;

namespace Modal.Server.Services;

/// <summary>The worker-facing RPCs; each checks the container's id and token.</summary>
internal sealed class ModalWorkerService(WorkerSessions sessions, ArgumentValidator validator) : ModalWorker.ModalWorkerBase
{
    public const string ContainerIdHeader = "x-modal-container-id";
    public const string ContainerTokenHeader = "x-modal-container-token";

    private Task<WorkerSession> AuthenticateAsync(ServerCallContext context) =>
        sessions.AuthenticateAsync(context.RequestHeaders.GetValue(ContainerIdHeader), context.RequestHeaders.GetValue(ContainerTokenHeader));

    public override async Task<ContainerHelloResponse> ContainerHello(ContainerHelloRequest request, ServerCallContext context) =>
        await sessions.HelloAsync(await AuthenticateAsync(context).ConfigureAwait(false), request).ConfigureAwait(false);

    public override async Task FunctionGetInputs(IAsyncStreamReader<InputCredit> requestStream, IServerStreamWriter<InputAssignment> responseStream,
        ServerCallContext context)
    {
        var container = await AuthenticateAsync(context).ConfigureAwait(false);
        var assignments = sessions.OpenInputStream(container);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var credits = Task.Run(async () =>
        {
            try
            {
                while (await requestStream.MoveNext(stop.Token).ConfigureAwait(false))
                {
                    sessions.AddCredits(container, requestStream.Current.FreeSlots);
                }
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                // The stream ended.
            }
            catch (IOException)
            {
                // The worker went away; its lease decides what happens to its inputs.
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var assignment in assignments.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(assignment, context.CancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The worker went away.
        }
        finally
        {
            sessions.CloseInputStream(container, assignments);
            await stop.CancelAsync().ConfigureAwait(false);
            await credits.ConfigureAwait(false);
        }
    }

    public override async Task<FunctionPutOutputsResponse> FunctionPutOutputs(FunctionPutOutputsRequest request, ServerCallContext context)
    {
        var container = await AuthenticateAsync(context).ConfigureAwait(false);
        foreach (var output in request.Outputs)
        {
            validator.ValidateResult(output.Result?.Data, $"The result of input {output.InputId}");
        }
        await sessions.PutOutputsAsync(container, request).ConfigureAwait(false);
        return new FunctionPutOutputsResponse();
    }

    public override async Task<FunctionPutDataOutResponse> FunctionPutDataOut(FunctionPutDataOutRequest request, ServerCallContext context)
    {
        var container = await AuthenticateAsync(context).ConfigureAwait(false);
        foreach (var chunk in request.Chunks)
        {
            validator.ValidateResult(chunk.Data, $"Generator item {chunk.Index} of input {request.InputId}");
        }
        await sessions.PutDataOutAsync(container, request).ConfigureAwait(false);
        return new FunctionPutDataOutResponse();
    }

    public override async Task<ContainerHeartbeatResponse> ContainerHeartbeat(ContainerHeartbeatRequest request, ServerCallContext context) =>
        await sessions.HeartbeatAsync(await AuthenticateAsync(context).ConfigureAwait(false), request).ConfigureAwait(false);

    public override async Task<ContainerLogsResponse> ContainerLogs(ContainerLogsRequest request, ServerCallContext context)
    {
        sessions.PublishLogs(await AuthenticateAsync(context).ConfigureAwait(false), request.Lines);
        return new ContainerLogsResponse();
    }
}
