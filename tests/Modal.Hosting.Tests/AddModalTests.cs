using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modal.Integration;
using Modal.Server;

namespace Modal.Hosting.Tests;

/// <summary>
/// <c>services.AddModal(configuration.GetSection("Modal"))</c> in real ASP.NET Core apps on Kestrel (127.0.0.1), whose
/// endpoints call a deployed app's functions through a control plane on loopback.
/// </summary>
public sealed class AddModalTests(DeployedAppFixture deployed) : IClassFixture<DeployedAppFixture>
{
    [Fact]
    public async Task An_endpoint_calls_a_deployed_function_and_the_health_check_is_healthy()
    {
        await using var web = await StartWebAppAsync(Settings(deployed.ServerUrl, "web-one"));
        var http = web.Http;

        Assert.StartsWith("7:", await http.GetStringAsync("/short/7"));
        var health = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Two_hosts_with_the_same_settings_share_the_connection_and_the_second_outlives_the_first()
    {
        var settings = Settings(deployed.ServerUrl, "web-shared");
        var first = await StartWebAppAsync(settings);
        await using var second = await StartWebAppAsync(settings);

        Assert.StartsWith("1:", await first.Http.GetStringAsync("/short/1"));
        Assert.StartsWith("2:", await second.Http.GetStringAsync("/short/2"));
        await first.DisposeAsync();

        Assert.StartsWith("3:", await second.Http.GetStringAsync("/short/3"));
        Assert.Equal("Healthy", await second.Http.GetStringAsync("/healthz"));
    }

    [Fact]
    public async Task A_second_host_with_other_settings_is_refused_saying_which_differ()
    {
        await using var first = await StartWebAppAsync(Settings(deployed.ServerUrl, "web-first"));

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => StartWebAppAsync(Settings(deployed.ServerUrl, "web-other")));

        Assert.Contains("differ from those of another host in this process", refused.Message);
        Assert.Contains("differing: AppName", refused.Message);
        Assert.Contains("'web-first'", refused.Message);
        Assert.DoesNotContain("already running", refused.Message);
        // The first host is untouched.
        Assert.StartsWith("4:", await first.Http.GetStringAsync("/short/4"));
    }

    [Fact]
    public async Task The_health_check_is_unhealthy_once_the_control_plane_is_gone()
    {
        var server = await ControlPlane.StartAsync(new ControlPlaneOptions { Port = 0 });
        var settings = Settings(server.Url.ToString().TrimEnd('/'), "web-health");
        settings["RetryWindowSeconds"] = "1";
        await using var web = await StartWebAppAsync(settings);
        var http = web.Http;
        Assert.Equal("Healthy", await http.GetStringAsync("/healthz"));

        await server.DisposeAsync();

        var health = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("Unhealthy", await health.Content.ReadAsStringAsync());
    }

    [Fact]
    public void A_setting_that_cannot_be_read_is_named_with_its_configuration_path()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Modal:Mode"] = "Sideways" })
            .Build();

        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddModal(configuration.GetSection("Modal")));

        Assert.Contains("Modal:Mode is 'Sideways'", error.Message);
        Assert.Contains("Remote", error.Message);
    }

    private static Dictionary<string, string?> Settings(string serverUrl, string appName)
        => new() { ["ServerUrl"] = serverUrl, ["AppName"] = appName };

    /// <summary>A started web app and a client of it; disposing stops the host (so its hosted services stop), then disposes it.</summary>
    private sealed class RunningWebApp(WebApplication app) : IAsyncDisposable
    {
        private int _disposed;

        public HttpClient Http { get; } = new() { BaseAddress = new Uri(app.Urls.First()) };

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
            Http.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>A minimal API on Kestrel (127.0.0.1, a free port) configured from a "Modal" section.</summary>
    private async Task<RunningWebApp> StartWebAppAsync(Dictionary<string, string?> modal)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(modal.Select(setting => KeyValuePair.Create("Modal:" + setting.Key, setting.Value)));
        builder.Services.AddModal(builder.Configuration.GetSection("Modal"));
        var app = builder.Build();
        var functionsApp = deployed.AppName;
        app.MapGet("/short/{x:int}", (int x, CancellationToken cancellationToken)
            => IntegrationFunctions.Functions.ShortLived.WithApp(functionsApp).RemoteAsync(x, cancellationToken));
        app.MapHealthChecks("/healthz");
        try
        {
            await app.StartAsync();
            return new RunningWebApp(app);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }
}
