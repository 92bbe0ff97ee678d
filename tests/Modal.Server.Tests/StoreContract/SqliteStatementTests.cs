using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Modal.Api;
using Modal.Server.Store;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests.StoreContract;

/// <summary>
/// The SQLite store keeps each statement compiled once: a plan that depends on a bound value (a bare <c>LIMIT $n</c>)
/// would make SQLite compile the statement again at every run.
/// </summary>
public sealed class SqliteStatementTests : IDisposable
{
    private static readonly BacklogLimits NoLimits = new(long.MaxValue, long.MaxValue);
    private readonly string _directory = Directory.CreateTempSubdirectory("modal-statements-").FullName;

    [Fact]
    public async Task Calls_claims_completions_reads_and_retention_compile_no_statement_twice()
    {
        await using var store = new SqliteControlStore(Path.Combine(_directory, "modal.db"));
        var spec = Payloads.Spec("Square");
        var app = await store.CreateAppAsync(new NewApp("ap-1", "app", (int)AppKind.Ephemeral, [7]),
            [new NewFunction("fu-1", spec.Name, spec.ToByteArray())]);
        string functionId = app.FunctionIds[spec.Name];
        await store.RegisterContainerAsync(new NewContainer("ct-1", functionId, "ap-1", [1], "rp-test", 60_000));
        Assert.True(await store.ContainerHelloAsync("ct-1", null, 60_000));

        // Opening the store migrates its schema, which recompiles the statements prepared before each step: counted from here.
        int before = await store.StatementsRecompiledAsync();

        // Each statement runs several times with different bound values (limits included), as under load.
        for (int i = 0; i < 6; i++)
        {
            string callId = $"fc-{i}";
            var inputs = Enumerable.Range(0, i + 1).Select(n => new NewInput($"{callId}-in-{n}", n, [(byte)n])).ToList();
            var enqueued = await store.CreateCallAsync(new NewCall(callId, functionId, 0, null, false), inputs, null, NoLimits,
                claimFor: new ContainerCredit("ct-1", 1));
            var claimed = (enqueued.Claimed ?? []).SelectMany(a => a.Inputs)
                .Concat((await store.ClaimAsync(functionId, [new ContainerCredit("ct-1", i + 1)])).SelectMany(a => a.Inputs))
                .ToList();
            Assert.Equal(i + 1, claimed.Count);
            await store.CompleteAsync("ct-1", claimed.Select(c => new AttemptResult(c.InputId, c.Attempt, Payloads.Success(c.Index).ToByteArray())).ToList());
            var page = await store.ReadOutputsAsync(callId, 0, i + 1);
            Assert.Equal(i + 1, page.Outputs.Count);
            Assert.Empty((await store.ReadChunksAsync(callId, 0, 10 + i)).Chunks);
            await store.DeleteExpiredAsync(3_600_000, 3_600_000, 100 + i);
        }

        Assert.Equal(0, await store.StatementsRecompiledAsync() - before);
    }

    [Fact]
    public void A_statement_with_a_bare_bound_limit_is_refused_with_the_fix()
    {
        using var tx = TableOfIntegers();

        var refused = Assert.Throws<ArgumentException>(() => tx.Query("SELECT x FROM t ORDER BY x LIMIT $1", r => r.GetInt64(0), 5));

        Assert.Contains("LIMIT $n + 0", refused.Message);
        Assert.Empty(tx.Query("SELECT x FROM t ORDER BY x LIMIT $1 + 0", r => r.GetInt64(0), 5));
    }

    [Fact]
    public void A_bound_limit_written_as_an_expression_is_compiled_once_where_a_bare_one_is_compiled_at_every_run()
    {
        using var tx = TableOfIntegers();
        for (int limit = 1; limit <= 5; limit++)
        {
            tx.Query("SELECT x FROM t ORDER BY x LIMIT $1 + 0", r => r.GetInt64(0), limit);
        }
        Assert.Equal(0, tx.StatementsRecompiled());

        // What the rule avoids, on a command outside SqliteTx: SQLite compiles the bare form again after each binding.
        using var bare = tx.Connection.CreateCommand();
        bare.CommandText = "SELECT x FROM t ORDER BY x LIMIT $1";
        var limitParameter = bare.Parameters.Add(new SqliteParameter("$1", 1));
        for (int limit = 1; limit <= 5; limit++)
        {
            limitParameter.Value = limit;
            using var reader = bare.ExecuteReader();
            while (reader.Read())
            {
            }
        }
        Assert.True(tx.StatementsRecompiled() >= 4, $"recompiled {tx.StatementsRecompiled()} times");
    }

    /// <summary>An in-memory database with one table <c>t(x)</c>, on a <see cref="SqliteTx"/> that closes it.</summary>
    private static SqliteTx TableOfIntegers()
    {
        var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        var tx = new SqliteTx(connection);
        tx.Execute("CREATE TABLE t(x INTEGER)");
        return tx;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
