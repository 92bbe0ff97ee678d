using Google.Protobuf;
using Modal.Api;
using Modal.Server.Store;
using Modal.Server.Tests.Infrastructure;
using Npgsql;

namespace Modal.Server.Tests.StoreContract;

/// <summary>What only the PostgreSQL store does: migrations shared by replicas, NOTIFY between them, whole control planes on it.</summary>
public sealed class PostgresStoreTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task Replicas_opening_a_new_database_at_once_apply_each_migration_once()
    {
        string url = await database.CreateDatabaseAsync();

        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => PostgresControlStore.OpenAsync(url))));
        try
        {
            var builder = PostgresUrl.Parse(url);
            builder.Pooling = false;
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT array_agg(version ORDER BY version) FROM schema_migrations", connection);
            Assert.Equal(Enumerable.Range(1, PostgresSchema.Migrations.Count), (int[])(await command.ExecuteScalarAsync())!);
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_commit_on_one_replica_wakes_the_waiters_of_another()
    {
        await database.EmptyAsync();
        await using var waiting = await PostgresControlStore.OpenAsync(database.Url);
        await using var writing = await PostgresControlStore.OpenAsync(database.Url);
        var spec = Payloads.Spec();
        string functionId = (await writing.CreateAppAsync(new NewApp("ap-1", "app", 0, []), [new NewFunction("fu-1", "Square", spec.ToByteArray())]))
            .FunctionIds["Square"];
        var work = waiting.Signals.NextWork;
        using var watch = waiting.Signals.WatchCall("fc-1");

        await writing.CreateCallAsync(new NewCall("fc-1", functionId, 0, null, false), [new NewInput("in-1", 0, [1])], null, new(10, 1000));
        await work.WaitAsync(TimeSpan.FromSeconds(5));
        await writing.RegisterContainerAsync(new NewContainer("ct-1", functionId, "ap-1", [1], "rp-2", 60_000));
        var claimed = (await writing.ClaimAsync(functionId, [new ContainerCredit("ct-1", 1)])).Single().Inputs.Single();
        var started = DateTime.UtcNow;
        var wake = watch.WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        await writing.CompleteAsync("ct-1", [new AttemptResult(claimed.InputId, claimed.Attempt, Payloads.Success(1).ToByteArray())]);
        await wake;

        Assert.InRange(DateTime.UtcNow - started, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Single((await waiting.ReadOutputsAsync("fc-1", 0, 10)).Outputs);
    }

    [Fact]
    public async Task A_control_plane_on_PostgreSQL_serves_a_call_end_to_end()
    {
        await database.EmptyAsync();
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { DatabasePath = database.Url });
        Assert.Equal("postgresql", server.ControlPlane.Store.Kind);
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 7) } });
        var launched = await server.Launcher.NextAsync();
        await using var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
        await worker.HelloAsync();
        await worker.StartAsync();

        var input = (await worker.NextAsync()).Inputs.Single();
        await worker.PutAsync(input, Payloads.Success(49));

        Assert.Equal(49, Payloads.Value((await server.WaitForOutputsAsync(map.FunctionCallId, 1)).Outputs.Single().Result));
    }

    [Fact]
    public async Task A_log_subscriber_on_one_replica_gets_the_lines_a_worker_sends_to_another()
    {
        await database.EmptyAsync();
        var options = new ControlPlaneOptions { DatabasePath = database.Url };
        await using var leader = await TestServer.StartAsync(options);
        await Task.Delay(500); // Its first duty pass takes the leader lease, so it launches the workers.
        await using var other = await TestServer.StartAsync(options);
        var spec = Payloads.Spec();
        spec.MinContainers = 1;
        var (appId, _) = await other.CreateAppAsync(spec, launch: true);
        var launched = await leader.Launcher.NextAsync();
        await using var worker = leader.Worker(launched.ContainerId, launched.ContainerToken);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var logs = other.Client.AppGetLogs(new AppGetLogsRequest { AppId = appId }, cancellationToken: cts.Token);
        var first = logs.ResponseStream.MoveNext(cts.Token);
        string longLine = new('x', 3_000);

        // The subscription is registered once the call reached its replica; send until a line arrives there.
        while (!first.IsCompleted)
        {
            await worker.Client.ContainerLogsAsync(
                new ContainerLogsRequest { Lines = { new LogLine { Text = "hello across replicas" }, new LogLine { Text = longLine, Stderr = true } } },
                new Grpc.Core.Metadata { { "x-modal-container-id", launched.ContainerId }, { "x-modal-container-token", launched.ContainerToken } },
                cancellationToken: cts.Token);
            await Task.WhenAny(first, Task.Delay(200, cts.Token));
        }

        Assert.True(await first);
        Assert.Equal(("hello across replicas", "Square", launched.ContainerId),
            (logs.ResponseStream.Current.Text, logs.ResponseStream.Current.FunctionName, logs.ResponseStream.Current.ContainerId));
        Assert.True(await logs.ResponseStream.MoveNext(cts.Token));
        Assert.True(logs.ResponseStream.Current.Stderr);
        Assert.StartsWith(new string('x', 1_800) + " [cut at 1,800 characters", logs.ResponseStream.Current.Text);
    }

    [Fact]
    public async Task A_worker_on_one_replica_runs_inputs_queued_through_another()
    {
        await database.EmptyAsync();
        var options = new ControlPlaneOptions { DatabasePath = database.Url };
        await using var leader = await TestServer.StartAsync(options);
        await Task.Delay(500); // Its first duty pass takes the leader lease, so it launches the workers.
        await using var other = await TestServer.StartAsync(options);
        var (_, functionId) = await other.CreateAppAsync(Payloads.Spec(), launch: true);
        var map = await other.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 2), Payloads.Input(1, 3) },
        });

        var launched = await leader.Launcher.NextAsync();
        await using var worker = leader.Worker(launched.ContainerId, launched.ContainerToken);
        await worker.HelloAsync();
        await worker.StartAsync(credits: 2);
        var inputs = new List<LeasedInput>();
        while (inputs.Count < 2)
        {
            inputs.AddRange((await worker.NextAsync()).Inputs);
        }
        foreach (var input in inputs)
        {
            int x = input.Arguments.Inline[1];
            await worker.PutAsync(input, Payloads.Success(x * x));
        }

        var outputs = await other.WaitForOutputsAsync(map.FunctionCallId, 2);
        Assert.Equal([4, 9], outputs.Outputs.OrderBy(o => o.Index).Select(o => Payloads.Value(o.Result)));
    }

    [Fact]
    public async Task A_thousand_inputs_across_workers_on_two_replicas_each_yield_exactly_one_output()
    {
        await database.EmptyAsync();
        var options = new ControlPlaneOptions { DatabasePath = database.Url };
        await using var leader = await TestServer.StartAsync(options);
        await Task.Delay(500);
        await using var other = await TestServer.StartAsync(options);
        var spec = Payloads.Spec();
        spec.MaxContainers = 2;
        spec.MaxInputs = 4;
        var (_, functionId) = await other.CreateAppAsync(spec, launch: true);
        var request = new FunctionMapRequest { FunctionId = functionId };
        request.PipelinedInputs.AddRange(Enumerable.Range(0, 1000).Select(i => Payloads.Input(i, i % 11)));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var map = await other.Client.FunctionMapAsync(request);

        async Task<int> RunWorkerAsync(TestServer connectTo)
        {
            var launched = await leader.Launcher.NextAsync();
            await using var worker = connectTo.Worker(launched.ContainerId, launched.ContainerToken);
            await worker.HelloAsync();
            await worker.StartAsync(credits: 4);
            int served = 0;
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                while (true)
                {
                    var assignment = await worker.Assignments.Reader.ReadAsync(stop.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(2), stop.Token);
                    foreach (var input in assignment.Inputs)
                    {
                        int x = input.Arguments.Inline[1];
                        await worker.PutAsync(input, Payloads.Success(x * x));
                        await worker.GrantAsync(1);
                        served++;
                    }
                }
            }
            catch (TimeoutException)
            {
                return served; // Idle for two seconds: the queue is drained.
            }
        }

        var served = await Task.WhenAll(RunWorkerAsync(leader), RunWorkerAsync(other));
        var outputs = await other.WaitForOutputsAsync(map.FunctionCallId, 1000, TimeSpan.FromSeconds(30));
        Console.WriteLine($"1,000 inputs on two replicas in {started.Elapsed.TotalSeconds - 2:F1} s; served {served[0]} + {served[1]}");

        Assert.Equal(1000, served.Sum());
        Assert.Equal(1000, outputs.Outputs.Select(o => o.InputId).Distinct().Count());
        Assert.All(outputs.Outputs, o => Assert.Equal(o.Index % 11 * (o.Index % 11), Payloads.Value(o.Result)));
        Assert.Equal(0, outputs.UnfinishedInputs);
    }

    [Fact]
    public async Task Enqueues_that_claim_claims_and_completions_for_one_container_on_two_replicas_never_deadlock()
    {
        // Reproduces a CI failure: an enqueue locked the function's counters and then the container, a completion the
        // container and then the function; and two claims each held a share lock on the container they both then
        // updated. PostgreSQL broke each deadlock after a second and the store ran the transaction again, so 2,000
        // spawns on three replicas took seven minutes. Every transaction now locks containers before functions.
        await database.EmptyAsync();
        await using var first = await PostgresControlStore.OpenAsync(database.Url);
        await using var second = await PostgresControlStore.OpenAsync(database.Url);
        var spec = Payloads.Spec();
        string functionId = (await first.CreateAppAsync(new NewApp("ap-1", "app", 0, []), [new NewFunction("fu-1", "Square", spec.ToByteArray())]))
            .FunctionIds["Square"];
        await first.RegisterContainerAsync(new NewContainer("ct-1", functionId, "ap-1", [1], "rp-1", 60_000));
        Assert.True(await first.ContainerHelloAsync("ct-1", null, 60_000));
        var limits = new BacklogLimits(long.MaxValue, long.MaxValue);
        const int CallsPerLoop = 150;

        async Task<int> CompleteAsync(PostgresControlStore store, IEnumerable<ClaimedAssignment> assignments)
        {
            var results = assignments.SelectMany(a => a.Inputs)
                .Select(i => new AttemptResult(i.InputId, i.Attempt, Payloads.Success(i.Arguments[0]).ToByteArray())).ToList();
            return results.Count == 0 ? 0 : (await store.CompleteAsync("ct-1", results)).Finished;
        }

        async Task<int> EnqueueAsync(PostgresControlStore store, string prefix)
        {
            int finished = 0;
            for (int i = 0; i < CallsPerLoop; i++)
            {
                string callId = $"fc-{prefix}-{i}";
                var enqueued = await store.CreateCallAsync(new NewCall(callId, functionId, 0, null, false), [new NewInput($"{callId}-in", 0, [(byte)i])],
                    null, limits, claimFor: new ContainerCredit("ct-1", 1));
                finished += await CompleteAsync(store, enqueued.Claimed ?? []);
            }
            return finished;
        }

        async Task<int> ClaimAsync(PostgresControlStore store, Task enqueuing)
        {
            int finished = 0;
            while (!enqueuing.IsCompleted)
            {
                finished += await CompleteAsync(store, await store.ClaimAsync(functionId, [new ContainerCredit("ct-1", 4)]));
            }
            return finished;
        }

        var enqueues = Task.WhenAll(Task.Run(() => EnqueueAsync(first, "a")), Task.Run(() => EnqueueAsync(second, "b")),
            Task.Run(() => EnqueueAsync(first, "c")), Task.Run(() => EnqueueAsync(second, "d")));
        var claims = Task.WhenAll(Task.Run(() => ClaimAsync(first, enqueues)), Task.Run(() => ClaimAsync(second, enqueues)));
        int finished = (await enqueues).Sum() + (await claims).Sum();
        finished += await CompleteAsync(first, await first.ClaimAsync(functionId, [new ContainerCredit("ct-1", 4 * CallsPerLoop)]));

        Assert.Equal(4 * CallsPerLoop, finished);
        Assert.Equal((0L, 0L), (await first.ReadLoadAsync()).Select(l => (l.Ready, l.Running)).Single());
        Assert.Equal(0, (await first.GetContainerAsync("ct-1"))!.Running);
        Assert.Equal((0L, 0L), (first.RetriedTransactionCount, second.RetriedTransactionCount));
    }
}
