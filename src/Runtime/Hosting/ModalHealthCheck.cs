using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Modal.Hosting;

/// <summary>
/// Healthy while the control plane answers the host app's heartbeat within <see cref="Patience"/>; unhealthy before
/// the host has connected, or when the control plane does not answer or no longer knows the app.
/// </summary>
internal sealed class ModalHealthCheck(ModalHostedService connection) : IHealthCheck
{
    /// <summary>How long one check waits for the control plane.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (connection.App is not { } app)
        {
            return HealthCheckResult.Unhealthy("Modal is not connected: the host has not started, or has stopped.");
        }
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(Patience);
        try
        {
            await app.ProbeAsync(limit.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"Modal app '{app.Name}' ({app.Mode}) reaches {app.Location}.");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"The Modal control plane at {app.Location} did not answer within {Patience.TotalSeconds:0} s.");
        }
        catch (ModalException exception)
        {
            return HealthCheckResult.Unhealthy($"The Modal control plane at {app.Location} failed the check: {exception.Message}", exception);
        }
    }
}
