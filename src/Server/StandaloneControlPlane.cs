using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Modal.Server;

/// <summary>The standalone control plane's run loop, shared by <c>modal server</c> and <c>dotnet run --project src/Server</c>.</summary>
public static class StandaloneControlPlane
{
    /// <summary>The standard variable that turns on OTLP export of the control plane's traces and metrics.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Starts a control plane, prints where it listens on <paramref name="output"/>, and runs until SIGINT or SIGTERM.
    /// With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set it exports its traces (source <c>Modal.Server</c>) and metrics (meter
    /// <c>Modal.Server</c>) there, as the other <c>OTEL_*</c> variables say (protocol, headers), as service <c>modal-server</c>.
    /// </summary>
    public static async Task RunAsync(ControlPlaneOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stopped.TrySetResult();
        }
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        if (Environment.GetEnvironmentVariable(OtlpEndpointVariable) is { Length: > 0 })
        {
            var configure = options.ConfigureServices;
            options = options with
            {
                ConfigureServices = services =>
                {
                    configure?.Invoke(services);
                    services.AddOpenTelemetry()
                        .ConfigureResource(resource => resource.AddService("modal-server"))
                        .WithTracing(tracing => tracing.AddSource("Modal.Server").AddOtlpExporter())
                        .WithMetrics(metrics => metrics.AddMeter("Modal.Server").AddOtlpExporter());
                },
            };
        }
        await using var controlPlane = await ControlPlane.StartAsync(options).ConfigureAwait(false);
        if (controlPlane.AdminEnvPath is { } adminEnv)
        {
            await output.WriteLineAsync(
                $"Created an admin token: MODAL_TOKEN_ID and MODAL_TOKEN_SECRET are in {adminEnv} (readable by you only).").ConfigureAwait(false);
        }
        await output.WriteLineAsync($"Modal control plane listening on {controlPlane.Url}").ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
        await stopped.Task.ConfigureAwait(false);
    }
}
