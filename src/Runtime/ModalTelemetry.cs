using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Modal;

/// <summary>
/// The names under which the runtime publishes traces and metrics, for OpenTelemetry's <c>AddSource</c> and
/// <c>AddMeter</c>. Callers trace each call (<c>modal.call</c>, or <c>modal.map</c>), workers each input they run
/// (<c>modal.run</c>), and the control plane (<c>Modal.Server</c>) each call it enqueues; the W3C trace context travels
/// in the input, so one trace holds the caller, the control plane, the worker and the calls the function makes.
/// </summary>
public static class ModalTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> and <see cref="Meter"/> name of the runtime (caller and worker).</summary>
    public const string SourceName = "Modal";

    /// <summary>The <see cref="ActivitySource"/> and <see cref="Meter"/> name of the control plane.</summary>
    public const string ServerSourceName = "Modal.Server";

    internal static readonly ActivitySource Source = new(SourceName, typeof(ModalTelemetry).Assembly.GetName().Version?.ToString());

    internal static readonly Meter Meter = new(SourceName, typeof(ModalTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>Calls made by this process, by function and kind (call, spawn, map, generator).</summary>
    internal static readonly Counter<long> Calls = Meter.CreateCounter<long>("modal.client.calls", description: "Calls made to Modal functions.");

    /// <summary>How long calls that waited for their result took, in seconds.</summary>
    internal static readonly Histogram<double> CallDuration = Meter.CreateHistogram<double>(
        "modal.client.call.duration", "s", "How long a call took, from the request to its result.");

    /// <summary>Inputs this worker ran, by function and outcome.</summary>
    internal static readonly Counter<long> InputsRun = Meter.CreateCounter<long>("modal.worker.inputs", description: "Inputs a worker ran.");

    /// <summary>Starts the caller's span of a call; null when nobody listens.</summary>
    internal static Activity? StartCall(string kind, string functionName)
    {
        Calls.Add(1, new KeyValuePair<string, object?>("modal.function", functionName), new KeyValuePair<string, object?>("modal.call.kind", kind));
        var activity = Source.StartActivity($"modal.{kind} {functionName}", ActivityKind.Client);
        activity?.SetTag("modal.function", functionName);
        return activity;
    }

    /// <summary>Puts the current trace context (the caller's span) into an input's arguments.</summary>
    internal static Api.Payload WithTraceContext(Api.Payload payload)
    {
        if (Activity.Current is { } current && current.IdFormat == ActivityIdFormat.W3C)
        {
            payload.TraceContext = new Api.TraceContext { Traceparent = current.Id ?? string.Empty, Tracestate = current.TraceStateString ?? string.Empty };
        }
        return payload;
    }

    /// <summary>The parent an input's arguments carry, if any.</summary>
    internal static ActivityContext ParentOf(Api.Payload? arguments)
        => arguments?.TraceContext is { Traceparent.Length: > 0 } context
           && ActivityContext.TryParse(context.Traceparent, context.Tracestate, isRemote: true, out var parent)
            ? parent
            : default;

    /// <summary>Records a failed span.</summary>
    internal static void Fail(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }
        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag("error.type", exception.GetType().FullName);
        if (exception is RemoteFunctionException { Attempts: > 0 } remote)
        {
            activity.SetTag("modal.attempts", remote.Attempts);
        }
    }
}
