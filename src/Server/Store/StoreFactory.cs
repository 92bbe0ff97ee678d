namespace Modal.Server.Store;

/// <summary>Opens the store that <see cref="ControlPlaneOptions.DatabasePath"/> names: a PostgreSQL URL or a SQLite file.</summary>
internal static class StoreFactory
{
    public static bool IsPostgres(string? path) =>
        path is not null && (path.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || path.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase));

    public static async Task<IControlStore> OpenAsync(ControlPlaneOptions options, CancellationToken cancellationToken)
    {
        long restartGraceMs = (long)options.LeaseTimeout.TotalMilliseconds;
        if (IsPostgres(options.DatabasePath))
        {
            return await PostgresControlStore.OpenAsync(options.DatabasePath!, options.TimeProvider, restartGraceMs, cancellationToken)
                .ConfigureAwait(false);
        }
        return new SqliteControlStore(options.DatabasePath, options.TimeProvider, restartGraceMs);
    }
}
