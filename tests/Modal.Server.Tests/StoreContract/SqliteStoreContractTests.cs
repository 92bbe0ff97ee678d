using Modal.Server.Store;

namespace Modal.Server.Tests.StoreContract;

/// <summary>The store contract on SQLite: a database file of its own per test (two instances share it).</summary>
public sealed class SqliteStoreContractTests : StoreContractTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modal-contract-").FullName;

    private protected override Task ResetDatabaseAsync() => Task.CompletedTask;

    private protected override Task<IControlStore> OpenInstanceAsync() =>
        Task.FromResult<IControlStore>(new SqliteControlStore(Path.Combine(_directory, "modal.db")));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A reader connection may still be closing; the temp folder is cleaned by the OS.
        }
    }
}
