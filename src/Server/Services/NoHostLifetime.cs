using Microsoft.Extensions.Hosting;

namespace Modal.Server.Services;

/// <summary>
/// The embedded server must not take over the host process's Ctrl+C and SIGTERM (the console lifetime would);
/// whoever owns the <see cref="ControlPlane"/> disposes it.
/// </summary>
internal sealed class NoHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
