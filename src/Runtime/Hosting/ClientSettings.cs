namespace Modal.Hosting;

/// <summary>
/// The control plane and token an app connects with (API.md §5). Each comes from the first of: the app's options,
/// the <c>MODAL_*</c> variables, the profile file (<see cref="ProfileFile"/>, read only when the first two leave a
/// setting open). The token id and secret travel as a pair: they come together from the first source that has either.
/// </summary>
internal sealed record ClientSettings(string? ServerUrl, string? TokenId, string? TokenSecret)
{
    public const string ServerUrlVariable = "MODAL_SERVER_URL";
    public const string TokenIdVariable = "MODAL_TOKEN_ID";
    public const string TokenSecretVariable = "MODAL_TOKEN_SECRET";

    /// <summary>The settings for <paramref name="options"/> in this process's environment.</summary>
    /// <exception cref="ProfileFileException">The profile file was needed and is bad.</exception>
    public static ClientSettings Resolve(ModalAppOptions options) => Resolve(options, Environment.GetEnvironmentVariable, ProfileFile.Path);

    /// <summary>The settings for <paramref name="options"/>, given the variables and the profile file's path.</summary>
    public static ClientSettings Resolve(ModalAppOptions options, Func<string, string?> variables, string profilePath)
        => Resolve(options, variables, () => ProfileFile.Read(profilePath));

    /// <summary>The settings for <paramref name="options"/>, given the variables and a reader of the profile's keys (called at most once, only when needed).</summary>
    public static ClientSettings Resolve(ModalAppOptions options, Func<string, string?> variables, Func<IReadOnlyDictionary<string, string>> readProfile)
    {
        IReadOnlyDictionary<string, string>? profile = null;
        string? Profile(string key) => (profile ??= readProfile()).GetValueOrDefault(key);
        string? Variable(string name) => variables(name) is { Length: > 0 } value ? value : null;

        string? url = !string.IsNullOrWhiteSpace(options.ServerUrl) ? options.ServerUrl
            : Variable(ServerUrlVariable) ?? Profile(ProfileFile.ServerUrl);
        if (options.TokenId is not null || options.TokenSecret is not null)
        {
            return new ClientSettings(url, options.TokenId, options.TokenSecret);
        }
        if (Variable(TokenIdVariable) is not null || Variable(TokenSecretVariable) is not null)
        {
            return new ClientSettings(url, Variable(TokenIdVariable), Variable(TokenSecretVariable));
        }
        return new ClientSettings(url, Profile(ProfileFile.TokenId), Profile(ProfileFile.TokenSecret));
    }
}
