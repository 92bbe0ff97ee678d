using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Modal.Hosting;

/// <summary>The host's Modal connection: made when the host starts, left when it stops (<see cref="SharedConnection"/>).</summary>
internal sealed partial class ModalHostedService(ModalAppOptions options, ILoggerFactory loggerFactory) : IHostedService
{
    private readonly ModalAppOptions _options = options with { LoggerFactory = options.LoggerFactory ?? loggerFactory };
    private readonly ILogger _logger = loggerFactory.CreateLogger<ModalHostedService>();
    private ModalApp? _app;

    /// <summary>The connection, once the host has started; null before and after.</summary>
    public ModalApp? App => Volatile.Read(ref _app);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var app = await SharedConnection.AcquireAsync(_options, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _app, app);
        LogConnected(app.Name, app.Mode, app.Location);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _app, null) is { } app)
        {
            await SharedConnection.ReleaseAsync(app).ConfigureAwait(false);
        }
    }

    private void LogConnected(string appName, ModalMode mode, string location) => LogConnected(_logger, appName, mode, location);

    [LoggerMessage(Level = LogLevel.Information, Message = "Modal: connected as app '{AppName}' ({Mode}) to {Location}")]
    private static partial void LogConnected(ILogger logger, string appName, ModalMode mode, string location);
}
