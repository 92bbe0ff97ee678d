using Microsoft.Extensions.Logging;
using Modal;
using Modal.Tracing;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

// Caller and workers alike export their spans to OTEL_EXPORTER_OTLP_ENDPOINT when it is set (the app's OTEL_* variables
// reach its workers). Spans are exported as they end, since a worker leaves by Environment.Exit.
bool worker = Environment.GetEnvironmentVariable("MODAL_WORKER") == "1";
using var tracing = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 }
    ? Sdk.CreateTracerProviderBuilder()
        .ConfigureResource(resource => resource
            .AddService(worker ? "traced-worker" : "traced-caller", serviceInstanceId: Guid.NewGuid().ToString("N")))
        .AddSource(ModalTelemetry.SourceName)
        .AddOtlpExporter(otlp => otlp.ExportProcessorType = ExportProcessorType.Simple)
        .Build()
    : null;

// "logged": the runtime logs to the console, and every call counts as slow. Workers start without arguments, in a minimal
// environment where only the app's OTEL_* variables travel, so the test marks such a run with
// OTEL_RESOURCE_ATTRIBUTES=modal.test=logged. Workers' console lines reach the caller's console.
bool logged = Environment.GetEnvironmentVariable("OTEL_RESOURCE_ATTRIBUTES") == "modal.test=logged";
using var loggerFactory = logged ? LoggerFactory.Create(logging => logging.AddSimpleConsole(console => console.SingleLine = true)) : null;
await using var app = await ModalApp.RunAsync(args, new ModalAppOptions { LoggerFactory = loggerFactory, SlowCallThreshold = TimeSpan.Zero });
if (logged)
{
    try
    {
        await TracedFunctions.Functions.AlwaysFails.RemoteAsync(7);
    }
    catch (RemoteFunctionException exception)
    {
        Console.WriteLine($"caught: {exception.Message}");
    }
    return;
}
Console.WriteLine($"result={await TracedFunctions.Functions.Outer.RemoteAsync(4)}");
