using Npgsql;

namespace Modal.Server.Store;

/// <summary>
/// Turns <c>postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE</c> (or <c>postgres://</c>) into an Npgsql connection
/// string. The password comes from <c>PGPASSWORD</c> when the URL has none; user and password may be percent-encoded.
/// Errors name the URL (with its password hidden) and say what is wrong with it.
/// </summary>
internal static class PostgresUrl
{
    private const string Shape = "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE";

    public static NpgsqlConnectionStringBuilder Parse(string url, string? environmentPassword = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        string shown = Redact(url);
        if (!StoreFactory.IsPostgres(url))
        {
            throw Bad(shown, "it does not start with postgresql:// or postgres://");
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw Bad(shown, "it is not a well-formed URL");
        }
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            throw Bad(shown, "options after '?' or '#' are not supported");
        }
        if (string.IsNullOrEmpty(uri.Host))
        {
            throw Bad(shown, "it names no host");
        }
        string[] userInfo = uri.UserInfo.Split(':', 2);
        string user = Uri.UnescapeDataString(userInfo[0]);
        if (user.Length == 0)
        {
            throw Bad(shown, "it names no user (USER@ before the host)");
        }
        string database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length == 0 || database.Contains('/'))
        {
            throw Bad(shown, "it names no database (one path segment after the host: /DATABASE)");
        }
        string? password = userInfo.Length == 2 ? Uri.UnescapeDataString(userInfo[1]) : environmentPassword ?? Environment.GetEnvironmentVariable("PGPASSWORD");
        return new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port,
            Username = user,
            Password = string.IsNullOrEmpty(password) ? null : password,
            Database = database,
        };
    }

    /// <summary>The URL with its password replaced by ***, for messages and logs.</summary>
    public static string Redact(string url)
    {
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        int at = url.LastIndexOf('@');
        if (scheme < 0 || at < scheme)
        {
            return url;
        }
        int colon = url.IndexOf(':', scheme + 3);
        return colon > 0 && colon < at ? url[..(colon + 1)] + "***" + url[at..] : url;
    }

    private static ArgumentException Bad(string shownUrl, string reason) =>
        new($"The PostgreSQL URL '{shownUrl}' cannot be used: {reason}. Write it as {Shape}, for instance " +
            "postgresql://postgres@127.0.0.1:5432/modal (the password may also come from PGPASSWORD).");
}
