namespace Modal.Server.Store;

/// <summary>Opens the store that <see cref="ControlPlaneOptions.DatabasePath"/> names: a PostgreSQL URL or a SQLite file.</summary>
internal static class StoreFactory
{
    public static bool IsPostgres(string? path) =>
        path is not null && (path.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || path.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase));

    public static Task<IControlStore> OpenAsync(ControlPlaneOptions options, CancellationToken cancellationToken)
    {
        _ = cancellationToken;
        if (IsPostgres(options.DatabasePath))
        {
            throw new NotSupportedException("PostgreSQL stores arrive with the PostgreSQL store; use a SQLite file for now.");
        }
        return Task.FromResult<IControlStore>(new SqliteControlStore(options.DatabasePath, options.TimeProvider,
            restartGraceMs: (long)options.LeaseTimeout.TotalMilliseconds));
    }
}
