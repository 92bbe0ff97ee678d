namespace Modal;

/// <summary>How <c>ModalApp.RunAsync</c> and <c>ModalApp.DeployAsync</c> connect and name the app.</summary>
public sealed record ModalAppOptions
{
    /// <summary>The app's name; defaults to <c>[assembly: ModalApp]</c> or the assembly's name.</summary>
    public string? AppName { get; init; }

    /// <summary>The control plane's URL; defaults to <c>MODAL_SERVER_URL</c>.</summary>
    public string? ServerUrl { get; init; }

    /// <summary>The token id; defaults to <c>MODAL_TOKEN_ID</c>.</summary>
    public string? TokenId { get; init; }

    /// <summary>The token secret; defaults to <c>MODAL_TOKEN_SECRET</c>.</summary>
    public string? TokenSecret { get; init; }

    /// <summary>Where calls run; <see cref="ModalMode.Auto"/> by default.</summary>
    public ModalMode Mode { get; init; } = ModalMode.Auto;
}
