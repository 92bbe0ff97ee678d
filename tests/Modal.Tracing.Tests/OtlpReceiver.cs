using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Modal.Tracing.Tests.Otlp;

namespace Modal.Tracing.Tests;

/// <summary>
/// One span as an OTLP exporter sent it, with the service and process that sent it. The process is its
/// <c>service.instance.id</c> (<see cref="Instance"/>): unique per process, where a pid is not (sandboxed workers each
/// have their own PID namespace, so two of them can both be pid 2).
/// </summary>
public sealed record ReceivedSpan(string Name, string TraceId, string SpanId, string ParentSpanId, string Service, string Instance);

/// <summary>
/// An OTLP/HTTP receiver (protobuf) on 127.0.0.1: it keeps every span posted to <c>/v1/traces</c> and accepts, and drops,
/// metrics and logs.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The endpoint for OTEL_EXPORTER_OTLP_ENDPOINT (with OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf).</summary>
    public string Endpoint => _app.Urls.First();

    public IReadOnlyList<ReceivedSpan> Spans => _spans.ToArray();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            receiver.Add(ExportTraceServiceRequest.Parser.ParseFrom(body.ToArray()));
            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapPost("/v1/{signal}", () => Results.Bytes([], "application/x-protobuf"));
        await app.StartAsync();
        return receiver;
    }

    private void Add(ExportTraceServiceRequest export)
    {
        foreach (var resourceSpans in export.ResourceSpans)
        {
            var attributes = resourceSpans.Resource?.Attributes ?? [];
            var service = attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? string.Empty;
            var instance = attributes.FirstOrDefault(a => a.Key == "service.instance.id")?.Value?.StringValue ?? string.Empty;
            foreach (var span in resourceSpans.ScopeSpans.SelectMany(scope => scope.Spans))
            {
                _spans.Enqueue(new ReceivedSpan(
                    span.Name, Convert.ToHexStringLower(span.TraceId.Span), Convert.ToHexStringLower(span.SpanId.Span),
                    Convert.ToHexStringLower(span.ParentSpanId.Span), service, instance));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
