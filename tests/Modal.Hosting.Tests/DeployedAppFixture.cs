using System.Diagnostics;
using Modal.Integration;
using Modal.Server;

namespace Modal.Hosting.Tests;

/// <summary>
/// A control plane on loopback (started in this process, as a standalone server would run) and the integration
/// functions deployed on it by a separate process, as `modal deploy` would.
/// </summary>
public sealed class DeployedAppFixture : IAsyncLifetime
{
    private ControlPlane? _server;

    public string ServerUrl => _server?.Url.ToString().TrimEnd('/') ?? throw new InvalidOperationException("Not started.");

    public string AppName { get; } = "hosted-" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        _server = await ControlPlane.StartAsync(new ControlPlaneOptions { Port = 0 });
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(IntegrationFunctions).Assembly.Location);
        start.ArgumentList.Add("deploy");
        start.ArgumentList.Add(AppName);
        start.Environment["MODAL_SERVER_URL"] = ServerUrl;
        start.Environment.Remove("MODAL_WORKER");
        using var deployer = Process.Start(start)!;
        var output = deployer.StandardOutput.ReadToEndAsync();
        var errors = deployer.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await deployer.WaitForExitAsync(limit.Token);
        Assert.True(deployer.ExitCode == 0, $"Deploying {AppName} failed: {await output}{await errors}");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
