using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Security;

/// <summary>
/// API tokens: ids and secrets minted here, stored as SHA-256 hashes of the secret (secrets are 192 random bits, so a hash
/// without salt or stretching suffices), checked on every request against the store so that revocation and expiry take
/// effect on the next request.
/// </summary>
internal sealed class TokenAuthority(IControlStore store, ControlPlaneOptions options, ILogger<TokenAuthority> logger)
{
    public const string IdHeader = "x-modal-token-id";
    public const string SecretHeader = "x-modal-token-secret";
    public const string AdminEnvFile = "modal-admin.env";

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static string NewId() => "tk-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();

    public static string NewSecret() => "ts-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();

    private long NowUnixMs => options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The principal these headers name, or UNAUTHENTICATED saying what was wrong.</summary>
    public async Task<Principal> AuthenticateAsync(string? tokenId, string? secret)
    {
        if (string.IsNullOrEmpty(tokenId) && string.IsNullOrEmpty(secret))
        {
            throw Errors.Unauthenticated(
                $"No token: this control plane requires one. Present {IdHeader} and {SecretHeader} (MODAL_TOKEN_ID and MODAL_TOKEN_SECRET); " +
                $"the server wrote its admin token to {AdminEnvFile} at its first start.");
        }
        if (string.IsNullOrEmpty(tokenId) || string.IsNullOrEmpty(secret))
        {
            throw Errors.Unauthenticated($"Incomplete token: {(string.IsNullOrEmpty(tokenId) ? IdHeader : SecretHeader)} is missing; present both.");
        }
        if (!options.Standalone)
        {
            // The embedded control plane with a token of its own (no store tokens).
            return Same(tokenId, options.TokenId) && Same(secret, options.TokenSecret)
                ? new Principal(PrincipalKind.Admin, tokenId)
                : throw Errors.Unauthenticated($"Wrong token: '{Shorten(tokenId)}' with that secret is not this control plane's token.");
        }
        var token = tokenId.Length <= 64 ? await store.GetTokenAsync(tokenId).ConfigureAwait(false) : null;
        if (token is null)
        {
            throw Errors.Unauthenticated($"Unknown token id '{Shorten(tokenId)}': this control plane never issued it.");
        }
        if (!CryptographicOperations.FixedTimeEquals(Hash(secret), token.SecretHash))
        {
            throw Errors.Unauthenticated($"Wrong secret for token '{tokenId}'.");
        }
        if (token.Revoked)
        {
            throw Errors.Unauthenticated($"Token '{tokenId}' was revoked. Ask an admin for a new one (`modal token new`).");
        }
        if (token.ExpiresUnixMs is { } expires && expires <= NowUnixMs)
        {
            throw Errors.Unauthenticated(
                $"Token '{tokenId}' expired at {DateTimeOffset.FromUnixTimeMilliseconds(expires):u}. Ask an admin for a new one (`modal token new`).");
        }
        return new Principal(token.Admin ? PrincipalKind.Admin : PrincipalKind.User, token.Id,
            token.Apps is null ? null : new HashSet<string>(token.Apps, StringComparer.Ordinal));
    }

    private static string Shorten(string value) => value.Length <= 64 ? value : value[..64] + "…";

    private static bool Same(string presented, string? expected) =>
        expected is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));

    public async Task<TokenRecord> CreateAsync(string id, string secret, bool admin, IReadOnlyList<string>? apps, long? expiresUnixMs, string description)
    {
        var token = new TokenRecord(id, Hash(secret), admin, apps, expiresUnixMs, NowUnixMs, false, description);
        await store.CreateTokenAsync(token).ConfigureAwait(false);
        return token;
    }

    /// <summary>
    /// At a standalone server's start: stores the configured admin token, or, when none is configured and the store has
    /// no token yet, creates one and writes it to <c>modal-admin.env</c> (owner-only) beside the SQLite file or in the
    /// working directory. Returns that file's path when it was written.
    /// </summary>
    public async Task<string?> BootstrapAsync()
    {
        if (!options.Standalone)
        {
            return null;
        }
        if (!string.IsNullOrEmpty(options.TokenId) || !string.IsNullOrEmpty(options.TokenSecret))
        {
            if (string.IsNullOrEmpty(options.TokenId) || string.IsNullOrEmpty(options.TokenSecret))
            {
                throw new ArgumentException("--token-id and --token-secret go together: give both, or neither to have an admin token created.");
            }
            await CreateAsync(options.TokenId, options.TokenSecret, admin: true, apps: null, expiresUnixMs: null, "configured admin token")
                .ConfigureAwait(false);
            return null;
        }
        if ((await store.ListTokensAsync().ConfigureAwait(false)).Count > 0)
        {
            return null;
        }
        string id = NewId();
        string secret = NewSecret();
        string directory = options.AdminEnvDirectory
            ?? (options.DatabasePath is { } db && !db.StartsWith("postgres", StringComparison.OrdinalIgnoreCase)
                ? Path.GetDirectoryName(Path.GetFullPath(db))!
                : Environment.CurrentDirectory);
        string path = Path.Combine(directory, AdminEnvFile);
        // Created owner-only before the secret is written, so that it is never readable by others, even for a moment.
        var creation = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            creation.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        await using (var file = new FileStream(path, creation))
        await using (var writer = new StreamWriter(file))
        {
            await writer.WriteAsync($"MODAL_TOKEN_ID={id}\nMODAL_TOKEN_SECRET={secret}\n").ConfigureAwait(false);
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        await CreateAsync(id, secret, admin: true, apps: null, expiresUnixMs: null, "admin token created at first start").ConfigureAwait(false);
        logger.LogInformation("Created the admin token {TokenId} and wrote it to {Path}", id, path);
        return path;
    }
}
