namespace Modal.Hosting;

/// <summary>
/// The one connection that the hosts in this process share. Generated handles reach the process's running app, so
/// hosts with the same settings (test factories create several) share one app, counted, and the last host to stop
/// disposes it; a host with other settings, or a host started beside an app of <c>ModalApp.RunAsync</c>, is refused
/// with both sides named.
/// </summary>
internal static class SharedConnection
{
    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static ModalApp? s_app;
    private static ModalAppOptions? s_options;
    private static int s_hosts;

    /// <summary>Connects, or joins the connection of another host with the same settings.</summary>
    /// <exception cref="InvalidOperationException">This process already runs an app that this host cannot share.</exception>
    public static async Task<ModalApp> AcquireAsync(ModalAppOptions options, CancellationToken cancellationToken)
    {
        await s_gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (s_app is not null)
            {
                // Each host has its own logger factory; that is no reason to refuse it.
                if (s_options! with { LoggerFactory = null } == options with { LoggerFactory = null })
                {
                    s_hosts++;
                    return s_app;
                }
                throw new InvalidOperationException(
                    $"This host's Modal settings ({Describe(options)}) differ from those of another host in this process " +
                    $"({Describe(s_options!)}; differing: {string.Join(", ", Differences(options, s_options!))}). Function handles use one " +
                    "connection per process, so hosts in one process share it when their settings are equal: give this host the " +
                    "same Modal configuration section, or run it in a process of its own.");
            }
            if (ModalBackend.TryGetCurrent() is { } running)
            {
                throw new InvalidOperationException(
                    $"This process already runs Modal app '{running.RunningAppName ?? "unnamed"}', started with ModalApp.RunAsync or " +
                    $"ModalApp.DeployAsync, so this host's connection ({Describe(options)}) cannot be made: function handles use one " +
                    "connection per process. Let the host own it (remove the ModalApp.RunAsync call; handles then use the host's " +
                    "connection), or dispose that app before the host starts.");
            }
            var app = await ModalApp.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
            (s_app, s_options, s_hosts) = (app, options, 1);
            return app;
        }
        finally
        {
            s_gate.Release();
        }
    }

    /// <summary>Leaves the connection; the last host to leave disposes it.</summary>
    public static async Task ReleaseAsync(ModalApp app)
    {
        await s_gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!ReferenceEquals(s_app, app) || --s_hosts > 0)
            {
                return;
            }
            (s_app, s_options, s_hosts) = (null, null, 0);
            await app.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            s_gate.Release();
        }
    }

    private static string Describe(ModalAppOptions options)
        => $"app '{options.AppName}', mode {options.Mode}, server {options.ServerUrl ?? "from MODAL_SERVER_URL or embedded"}";

    private static IEnumerable<string> Differences(ModalAppOptions left, ModalAppOptions right)
    {
        if (left.AppName != right.AppName) yield return nameof(ModalAppOptions.AppName);
        if (left.ServerUrl != right.ServerUrl) yield return nameof(ModalAppOptions.ServerUrl);
        if (left.Mode != right.Mode) yield return nameof(ModalAppOptions.Mode);
        if (left.TokenId != right.TokenId) yield return nameof(ModalAppOptions.TokenId);
        if (left.TokenSecret != right.TokenSecret) yield return nameof(ModalAppOptions.TokenSecret);
        if (left.RetryWindow != right.RetryWindow) yield return nameof(ModalAppOptions.RetryWindow);
    }
}
