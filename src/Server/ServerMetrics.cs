using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Modal.Server;

/// <summary>Counters and traces of the control plane (picked up by OpenTelemetry under the name "Modal.Server").</summary>
internal sealed class ServerMetrics : IDisposable
{
    public const string Name = "Modal.Server";

    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter = new(Name);

    public ServerMetrics()
    {
        InputsQueued = _meter.CreateCounter<long>("modal.inputs.queued", description: "Inputs accepted into the queues.");
        Outputs = _meter.CreateCounter<long>("modal.outputs", description: "Final outputs recorded.");
        ContainersLaunched = _meter.CreateCounter<long>("modal.containers.launched", description: "Workers started.");
        ContainersFailed = _meter.CreateCounter<long>("modal.containers.failed", description: "Workers that died, went silent or overran.");
    }

    public Counter<long> InputsQueued { get; }
    public Counter<long> Outputs { get; }
    public Counter<long> ContainersLaunched { get; }
    public Counter<long> ContainersFailed { get; }

    /// <summary>
    /// Publishes how much of something the control plane holds in memory (<c>modal.held.NAME</c>), so that tests and
    /// operators can see that it lets go of what it no longer needs.
    /// </summary>
    public void ObserveHeld(string name, Func<int> value) =>
        _meter.CreateObservableGauge("modal.held." + name, value, description: $"{name} held in memory.");

    public void Dispose() => _meter.Dispose();
}
