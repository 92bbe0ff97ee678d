using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Modal;
using Modal.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Connects a generic host or an ASP.NET Core app to Modal.</summary>
public static class ModalServiceCollectionExtensions
{
    /// <summary>The name of the health check <see cref="AddModal(IServiceCollection, ModalAppOptions?)"/> registers.</summary>
    public const string HealthCheckName = "modal";

    /// <summary>
    /// Connects this host to a Modal control plane with options from <paramref name="configuration"/> (for example
    /// <c>builder.Configuration.GetSection("Modal")</c>): <c>ServerUrl</c>, <c>TokenId</c>, <c>TokenSecret</c>,
    /// <c>AppName</c>, <c>Mode</c>, <c>RetryWindowSeconds</c>. See <see cref="AddModal(IServiceCollection, ModalAppOptions?)"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">A value in the section cannot be read; the message names its key.</exception>
    public static IServiceCollection AddModal(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddModal(ModalConfiguration.Read(configuration));
    }

    /// <summary>
    /// Connects this host to a Modal control plane while it runs, so that its code calls functions of deployed apps
    /// (<c>Function.FromName("app", "Name")</c> or a handle's <c>WithApp("app")</c>): the connection is made when the
    /// host starts and closed when it stops, and a health check named <see cref="HealthCheckName"/> reports whether
    /// the control plane answers. The host is a client: it registers no functions of its own (its app, named after
    /// the entry assembly unless <see cref="ModalAppOptions.AppName"/> says otherwise, has none). Hosts in one process
    /// with equal options share one connection; a host with other options is refused when it starts, saying why.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="options">Server URL, token, mode and retry window; null for the defaults (the <c>MODAL_*</c> variables).</param>
    /// <exception cref="InvalidOperationException"><c>AddModal</c> was already called on these services.</exception>
    public static IServiceCollection AddModal(this IServiceCollection services, ModalAppOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(service => service.ServiceType == typeof(ModalHostedService)))
        {
            throw new InvalidOperationException("AddModal was called twice on these services; a host has one Modal connection.");
        }
        options ??= new ModalAppOptions();
        options = options with
        {
            ClientOnly = true,
            AppName = options.AppName ?? Assembly.GetEntryAssembly()?.GetName().Name ?? "host",
        };
        services.AddSingleton(provider => new ModalHostedService(options, provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance));
        services.AddSingleton<IHostedService>(provider => provider.GetRequiredService<ModalHostedService>());
        services.AddHealthChecks().AddCheck<ModalHealthCheck>(HealthCheckName, HealthStatus.Unhealthy, ["modal"]);
        return services;
    }
}
