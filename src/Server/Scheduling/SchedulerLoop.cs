using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Modal.Server.Scheduling;

/// <summary>Runs the scheduler's periodic work (leases, timeouts, retries, batches, autoscaling) and the retention sweep.</summary>
internal sealed class SchedulerLoop(Scheduler scheduler, ControlPlaneOptions options, ILogger<SchedulerLoop> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextSweep = DateTime.UtcNow + options.RetentionSweepInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = scheduler.Tick();
                if (DateTime.UtcNow >= nextSweep)
                {
                    nextSweep = DateTime.UtcNow + options.RetentionSweepInterval;
                    await scheduler.SweepExpiredAsync().ConfigureAwait(false);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogError(exception, "The scheduler loop failed; it goes on");
                wait = TimeSpan.FromSeconds(1);
            }
            try
            {
                await scheduler.WaitForWakeAsync(wait, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
