using Modal.Server.Store;

namespace Modal.Server.Tests.StoreContract;

/// <summary>
/// The store contract on PostgreSQL: a fresh database for this class (<see cref="PostgresDatabase"/>), emptied before
/// each test; every instance is a replica on it.
/// </summary>
public sealed class PostgresStoreContractTests(PostgresDatabase database) : StoreContractTests, IClassFixture<PostgresDatabase>
{
    private protected override Task ResetDatabaseAsync() => database.EmptyAsync();

    private protected override async Task<IControlStore> OpenInstanceAsync() => await PostgresControlStore.OpenAsync(database.Url);
}
