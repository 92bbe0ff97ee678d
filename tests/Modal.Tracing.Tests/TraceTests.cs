using System.Diagnostics;

namespace Modal.Tracing.Tests;

/// <summary>
/// One call traced across three kinds of process, each exporting over OTLP to a receiver on loopback: the caller (the
/// traced app), the standalone control plane, and the workers (the traced app in worker mode), with a nested call.
/// </summary>
public sealed class TraceTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task One_trace_links_caller_control_plane_worker_and_a_nested_call()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var otel = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
        };
        using var server = Processes.Start(Processes.BuildOutput("src/Server", "Modal.Server.dll"), Processes.ServerArguments, otel);
        try
        {
            var url = await Processes.ReadUrlAsync(server);
            using var caller = Processes.Start(Processes.BuildOutput("tests/Modal.Tracing.App", "Modal.Tracing.App.dll"), [],
                new Dictionary<string, string>(otel) { ["MODAL_SERVER_URL"] = url });
            var output = caller.StandardOutput.ReadToEndAsync();
            var errors = caller.StandardError.ReadToEndAsync();
            using (var limit = new CancellationTokenSource(s_patience))
            {
                await caller.WaitForExitAsync(limit.Token);
            }
            Assert.True(caller.ExitCode == 0, $"The traced app failed: {await output}{await errors}");
            Assert.Contains("result=41", await output);
            // Without a logger factory the runtime logs nothing.
            Assert.DoesNotContain("Modal.Worker", await output);
            Assert.DoesNotContain("Modal.Client", await output);

            // Caller -> control plane -> worker (Outer) -> nested call -> control plane -> worker (Inner).
            var spans = await WaitForSpansAsync(receiver, spans => spans.Any(s => s.Name == "modal.run Inner"));
            var call = Single(spans, "modal.call Outer", "traced-caller");
            var enqueue = Child(spans, call, "modal.enqueue FunctionMap", "modal-server");
            var run = Child(spans, enqueue, "modal.run Outer", "traced-worker");
            var nested = Child(spans, run, "modal.call Inner", "traced-worker");
            var nestedEnqueue = Child(spans, nested, "modal.enqueue FunctionMap", "modal-server");
            var innerRun = Child(spans, nestedEnqueue, "modal.run Inner", "traced-worker");

            Assert.All(new[] { enqueue, run, nested, nestedEnqueue, innerRun }, span => Assert.Equal(call.TraceId, span.TraceId));
            Assert.Equal(3, new[] { call.Instance, run.Instance, innerRun.Instance }.Where(i => i.Length > 0).Distinct().Count());
            Assert.Equal(nested.Instance, run.Instance);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static ReceivedSpan Single(IReadOnlyList<ReceivedSpan> spans, string name, string service)
    {
        var matching = spans.Where(s => s.Name == name && s.Service == service).ToList();
        Assert.True(matching.Count == 1, $"Expected one '{name}' span from {service}; got {matching.Count}. All spans:\n{Describe(spans)}");
        return matching[0];
    }

    private static ReceivedSpan Child(IReadOnlyList<ReceivedSpan> spans, ReceivedSpan parent, string name, string service)
    {
        var children = spans.Where(s => s.ParentSpanId == parent.SpanId && s.Name == name && s.Service == service).ToList();
        Assert.True(children.Count == 1,
            $"Expected one '{name}' span from {service} under '{parent.Name}' ({parent.SpanId}); got {children.Count}. All spans:\n{Describe(spans)}");
        return children[0];
    }

    private static string Describe(IEnumerable<ReceivedSpan> spans)
        => string.Join('\n', spans.Select(s => $"  {s.Service} instance {s.Instance}: {s.Name} trace {s.TraceId} span {s.SpanId} parent {s.ParentSpanId}"));

    private static async Task<IReadOnlyList<ReceivedSpan>> WaitForSpansAsync(OtlpReceiver receiver, Func<IReadOnlyList<ReceivedSpan>, bool> done)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (done(receiver.Spans))
            {
                // Spans of other processes may still be in flight.
                await Task.Delay(TimeSpan.FromSeconds(1));
                return receiver.Spans;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
        return receiver.Spans;
    }

}
