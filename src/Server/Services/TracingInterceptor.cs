using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Modal.Api;

namespace Modal.Server.Services;

/// <summary>
/// The control plane's span of each request that enqueues inputs (<c>FunctionMap</c>, <c>FunctionPutInputs</c>), a
/// child of the caller's span whose W3C trace context the first input carries. The inputs then carry this span's
/// context instead, so that the worker that runs them continues the trace from here: caller, control plane, worker.
/// </summary>
internal sealed class TracingInterceptor : Interceptor
{
    /// <summary>The control plane's <see cref="ActivitySource"/> (the runtime's <c>ModalTelemetry.ServerSourceName</c>).</summary>
    public static readonly ActivitySource Source = new("Modal.Server");

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var (inputs, functionId) = request switch
        {
            FunctionMapRequest map => (map.PipelinedInputs, map.FunctionId),
            FunctionPutInputsRequest put => (put.Inputs, null),
            _ => (null, null),
        };
        if (inputs is not { Count: > 0 } || !Source.HasListeners())
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        var method = context.Method[(context.Method.LastIndexOf('/') + 1)..];
        using var activity = Source.StartActivity($"modal.enqueue {method}", ActivityKind.Server, ParentOf(inputs[0].Arguments));
        if (activity is not null)
        {
            activity.SetTag("modal.function_id", functionId);
            activity.SetTag("modal.inputs", inputs.Count);
            var here = new TraceContext { Traceparent = activity.Id ?? string.Empty, Tracestate = activity.TraceStateString ?? string.Empty };
            foreach (var input in inputs)
            {
                if (input.Arguments is { TraceContext: not null } arguments)
                {
                    arguments.TraceContext = here;
                }
            }
        }
        try
        {
            var response = await continuation(request, context).ConfigureAwait(false);
            if (response is FunctionMapResponse created)
            {
                activity?.SetTag("modal.function_call_id", created.FunctionCallId);
            }
            return response;
        }
        catch (Exception exception)
        {
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            throw;
        }
    }

    private static ActivityContext ParentOf(Payload? arguments)
        => arguments?.TraceContext is { Traceparent.Length: > 0 } context
           && ActivityContext.TryParse(context.Traceparent, context.Tracestate, isRemote: true, out var parent)
            ? parent
            : default;
}
