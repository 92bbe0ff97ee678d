using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Modal.Hosting;

/// <summary>
/// Reads <see cref="ModalAppOptions"/> from a configuration section (<c>Modal</c> in appsettings.json, or
/// <c>Modal__ServerUrl</c> in the environment): <c>AppName</c>, <c>ServerUrl</c>, <c>TokenId</c>, <c>TokenSecret</c>,
/// <c>Mode</c> and <c>RetryWindowSeconds</c>. Unset keys keep their defaults (and so the <c>MODAL_*</c> variables).
/// </summary>
internal static class ModalConfiguration
{
    public static ModalAppOptions Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new ModalAppOptions
        {
            AppName = Text(configuration, nameof(ModalAppOptions.AppName)),
            ServerUrl = Text(configuration, nameof(ModalAppOptions.ServerUrl)),
            TokenId = Text(configuration, nameof(ModalAppOptions.TokenId)),
            TokenSecret = Text(configuration, nameof(ModalAppOptions.TokenSecret)),
        };
        if (Text(configuration, nameof(ModalAppOptions.Mode)) is { } mode)
        {
            options = options with
            {
                Mode = Enum.TryParse<ModalMode>(mode, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(mode, out _)
                    ? parsed
                    : throw new InvalidOperationException(
                        $"{PathOf(configuration, nameof(ModalAppOptions.Mode))} is '{mode}', which is not a mode. Use one of: " +
                        $"{string.Join(", ", Enum.GetNames<ModalMode>())}."),
            };
        }
        if (Text(configuration, "RetryWindowSeconds") is { } window)
        {
            options = options with
            {
                RetryWindow = double.TryParse(window, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds) && seconds >= 0
                    ? TimeSpan.FromSeconds(seconds)
                    : throw new InvalidOperationException(
                        $"{PathOf(configuration, "RetryWindowSeconds")} is '{window}', which is not a number of seconds (zero or more, for example 60)."),
            };
        }
        return options;
    }

    private static string? Text(IConfiguration configuration, string key)
        => configuration[key] is { Length: > 0 } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static string PathOf(IConfiguration configuration, string key)
        => configuration is IConfigurationSection section ? $"{section.Path}:{key}" : key;
}
