using Google.Protobuf;
using Modal.Api;
using Modal.Server.Store;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests.StoreContract;

/// <summary>
/// The behaviour every <see cref="IControlStore"/> must have, written against the interface alone. Each store runs it
/// through a subclass that opens that store on a database of its own for each test (and a second instance on the same
/// database for the tests of concurrent replicas).
/// </summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    private static readonly BacklogLimits NoLimits = new(long.MaxValue, long.MaxValue);
    private readonly List<IControlStore> _opened = [];

    /// <summary>Prepares an empty database for one test.</summary>
    private protected abstract Task ResetDatabaseAsync();

    /// <summary>Opens a store instance on this test's database (each call a new instance, as a replica would).</summary>
    private protected abstract Task<IControlStore> OpenInstanceAsync();

    public Task InitializeAsync() => ResetDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }
    }

    private async Task<IControlStore> OpenAsync()
    {
        var store = await OpenInstanceAsync();
        _opened.Add(store);
        return store;
    }

    private static FunctionSpec Spec(string name = "Square", Action<FunctionSpec>? configure = null)
    {
        var spec = Payloads.Spec(name);
        configure?.Invoke(spec);
        return spec;
    }

    private static async Task<string> FunctionAsync(IControlStore store, FunctionSpec? spec = null, string appId = "ap-1", string appName = "app",
        AppKind kind = AppKind.Ephemeral)
    {
        spec ??= Spec();
        var created = await store.CreateAppAsync(new NewApp(appId, appName, (int)kind, [7]), [new NewFunction($"fu-{appId}-{spec.Name}", spec.Name, spec.ToByteArray())]);
        return created.FunctionIds[spec.Name];
    }

    private static async Task ContainerAsync(IControlStore store, string functionId, string containerId, string appId = "ap-1")
    {
        await store.RegisterContainerAsync(new NewContainer(containerId, functionId, appId, [1, 2], "rp-test", 60_000));
        Assert.True(await store.ContainerHelloAsync(containerId, null, 60_000));
    }

    private static Task<Enqueued> CallAsync(IControlStore store, string functionId, string callId, int inputs, bool isGenerator = false,
        string? key = null, BacklogLimits? limits = null) =>
        store.CreateCallAsync(new NewCall(callId, functionId, 0, null, isGenerator),
            Enumerable.Range(0, inputs).Select(i => new NewInput($"{callId}-in-{i}", i, [(byte)i])).ToList(), key, limits ?? NoLimits);

    private static byte[] Success(int value) => Payloads.Success(value).ToByteArray();

    private static byte[] Failure() => new FunctionResult { Status = InputStatus.Failure, ExceptionType = "System.Exception" }.ToByteArray();

    private static FunctionResult Result(OutputRow row) => FunctionResult.Parser.ParseFrom(row.Result);

    private static async Task<ClaimedInput> ClaimOneAsync(IControlStore store, string functionId, string containerId) =>
        (await store.ClaimAsync(functionId, [new ContainerCredit(containerId, 1)])).Single().Inputs.Single();

    // ---- Apps ------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task An_ephemeral_app_is_created_with_its_functions_and_read_back()
    {
        var store = await OpenAsync();
        var created = await store.CreateAppAsync(new NewApp("ap-e", "hello", (int)AppKind.Ephemeral, [9]),
            [new NewFunction("fu-a", "Square", Spec().ToByteArray()), new NewFunction("fu-b", "Cube", Spec("Cube").ToByteArray())]);

        Assert.Equal("ap-e", created.AppId);
        Assert.Equal("fu-a", created.FunctionIds["Square"]);
        Assert.Equal("fu-b", created.FunctionIds["Cube"]);
        Assert.Equal(0, created.Version);
        var app = await store.GetAppAsync("ap-e");
        Assert.Equal(("hello", "running", (byte)9, 0, ""), (app!.Name, app.State, app.Launch.Single(), app.Version, app.ArtifactDigest));
        Assert.Empty(await store.ListVersionsAsync("hello"));
        Assert.Equal("Square", (await store.FindFunctionAsync("hello", "Square"))!.Name);
        Assert.Equal(["Cube", "Square"], await store.FunctionNamesAsync("hello"));
        Assert.Null(await store.GetFunctionAsync("fu-missing"));
        Assert.Equal(["ap-e"], (await store.ListAppsAsync(includeStopped: false)).Select(a => a.Id));
        Assert.True(await store.HeartbeatAppAsync("ap-e"));
        Assert.False(await store.HeartbeatAppAsync("ap-missing"));
    }

    // ---- Calls, claims and completions -------------------------------------------------------------------------------

    [Fact]
    public async Task An_enqueued_input_is_claimed_with_a_lease_and_its_completion_is_the_calls_only_output()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        var enqueued = await CallAsync(store, functionId, "fc-1", 1);
        Assert.Equal(["fc-1-in-0"], enqueued.InputIds);
        Assert.False(enqueued.Replayed);
        Assert.Equal((1, 1, false), ((await store.GetCallAsync("fc-1"))!.InputCount, (await store.GetCallAsync("fc-1"))!.Unfinished,
            (await store.GetCallAsync("fc-1"))!.Cancelled));
        await ContainerAsync(store, functionId, "ct-a");

        var claimed = await ClaimOneAsync(store, functionId, "ct-a");
        Assert.Equal(("fc-1-in-0", "fc-1", 0, 1), (claimed.InputId, claimed.CallId, claimed.Index, claimed.Attempt));
        Assert.Equal(new byte[] { 0 }, claimed.Arguments);
        Assert.InRange(claimed.DeadlineUnixMs - store.NowMs, 50_000, 61_000);
        Assert.Empty(await store.ClaimAsync(functionId, [new ContainerCredit("ct-a", 5)]));
        Assert.Equal((0L, 1L), (await store.ReadLoadAsync()).Select(l => (l.Ready, l.Running)).Single());
        Assert.Equal(1, (await store.GetContainerAsync("ct-a"))!.Running);
        Assert.Equal(new FunctionStatsRow(0, 1), await store.ReadFunctionStatsAsync(functionId));

        var completed = await store.CompleteAsync("ct-a", [new AttemptResult("fc-1-in-0", 1, Success(49))]);

        Assert.Equal(["fc-1"], completed.CallIds);
        Assert.Equal((1, 0, 0), (completed.Finished, completed.Retried, completed.Ignored));
        var page = await store.ReadOutputsAsync("fc-1", 0, 10);
        Assert.True(page.Known);
        Assert.Equal(0, page.Unfinished);
        var output = page.Outputs.Single();
        Assert.Equal((1L, "fc-1-in-0", 0, 49), (output.Sequence, output.InputId, output.Index, Payloads.Value(Result(output))));
        Assert.Empty((await store.ReadOutputsAsync("fc-1", 1, 10)).Outputs);
        Assert.False((await store.ReadOutputsAsync("fc-missing", 0, 10)).Known);
        Assert.Equal((0L, 0L), (await store.ReadLoadAsync()).Select(l => (l.Ready, l.Running)).Single());
        Assert.Equal(0, (await store.GetContainerAsync("ct-a"))!.Running);
    }

    [Fact]
    public async Task An_enqueue_for_a_waiting_worker_claims_the_input_in_its_own_transaction()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await ContainerAsync(store, functionId, "ct-a");

        var enqueued = await store.CreateCallAsync(new NewCall("fc-1", functionId, 0, null, false), [new NewInput("fc-1-in-0", 0, [3])], null,
            NoLimits, claimFor: new ContainerCredit("ct-a", 1));

        var assignment = Assert.Single(enqueued.Claimed ?? []);
        Assert.Equal("ct-a", assignment.ContainerId);
        var input = Assert.Single(assignment.Inputs);
        Assert.Equal(("fc-1-in-0", "fc-1", 1), (input.InputId, input.CallId, input.Attempt));
        Assert.Equal(new byte[] { 3 }, input.Arguments);
        Assert.Equal((0L, 1L), (await store.ReadLoadAsync()).Select(l => (l.Ready, l.Running)).Single());
        Assert.Empty(await store.ClaimAsync(functionId, [new ContainerCredit("ct-a", 5)]));
        var completed = await store.CompleteAsync("ct-a", [new AttemptResult("fc-1-in-0", 1, Success(9))]);
        Assert.Equal(1, completed.Finished);

        // A container that is not live (unknown here) claims nothing, and the input waits for the dispatcher.
        var unclaimed = await store.CreateCallAsync(new NewCall("fc-2", functionId, 0, null, false), [new NewInput("fc-2-in-0", 0, [4])], null,
            NoLimits, claimFor: new ContainerCredit("ct-gone", 1));
        Assert.Empty(unclaimed.Claimed ?? []);
        Assert.Equal("fc-2-in-0", (await ClaimOneAsync(store, functionId, "ct-a")).InputId);
    }

    [Fact]
    public async Task A_result_from_another_container_or_a_stale_attempt_is_ignored_and_the_holders_is_accepted_once()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await CallAsync(store, functionId, "fc-1", 1);
        await ContainerAsync(store, functionId, "ct-a");
        await ContainerAsync(store, functionId, "ct-b");
        var first = await ClaimOneAsync(store, functionId, "ct-a");
        await store.EndContainerAsync("ct-a", "lease expired", 8);
        var second = await ClaimOneAsync(store, functionId, "ct-b");
        Assert.Equal(first.Attempt + 1, second.Attempt);

        Assert.Equal(1, (await store.CompleteAsync("ct-a", [new AttemptResult("fc-1-in-0", first.Attempt, Success(1))])).Ignored);
        Assert.Equal(1, (await store.CompleteAsync("ct-b", [new AttemptResult("fc-1-in-0", first.Attempt, Success(2))])).Ignored);
        Assert.Equal(1, (await store.CompleteAsync("ct-other", [new AttemptResult("fc-1-in-0", second.Attempt, Success(3))])).Ignored);
        Assert.Equal(1, (await store.CompleteAsync("ct-b", [new AttemptResult("fc-1-in-0", second.Attempt, Success(4))])).Finished);
        Assert.Equal(1, (await store.CompleteAsync("ct-b", [new AttemptResult("fc-1-in-0", second.Attempt, Success(5))])).Ignored);
        Assert.False(await store.AppendChunksAsync("ct-a", "fc-1-in-0", first.Attempt, [new ChunkRecord(0, [1])]));

        Assert.Equal(4, Payloads.Value(Result((await store.ReadOutputsAsync("fc-1", 0, 10)).Outputs.Single())));
    }

    [Fact]
    public async Task A_batch_of_results_ends_each_held_input_once_and_ignores_stale_duplicate_and_foreign_ones()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await CallAsync(store, functionId, "fc-1", 70);
        await ContainerAsync(store, functionId, "ct-a");
        await ContainerAsync(store, functionId, "ct-b");
        var held = (await store.ClaimAsync(functionId, [new ContainerCredit("ct-a", 70)])).SelectMany(a => a.Inputs).ToList();
        await CallAsync(store, functionId, "fc-2", 1);
        var other = await ClaimOneAsync(store, functionId, "ct-b");
        Assert.Equal(70, held.Count);

        // 70 successes (more than one statement's worth), one of them twice, one at a stale attempt, one held by another
        // container, and a failure among them.
        var results = held.Take(68).Select(i => new AttemptResult(i.InputId, i.Attempt, Success(i.Index))).ToList();
        results.Add(new AttemptResult(held[5].InputId, held[5].Attempt, Success(-1)));
        results.Add(new AttemptResult(held[68].InputId, held[68].Attempt + 1, Success(-2)));
        results.Add(new AttemptResult(other.InputId, other.Attempt, Success(-3)));
        results.Add(new AttemptResult(held[69].InputId, held[69].Attempt, Failure()));
        var completed = await store.CompleteAsync("ct-a", results);

        Assert.Equal((69, 0, 3), (completed.Finished, completed.Retried, completed.Ignored));
        var outputs = (await store.ReadOutputsAsync("fc-1", 0, 100)).Outputs;
        Assert.Equal(69, outputs.Count);
        Assert.Equal(Enumerable.Range(1, 69).Select(n => (long)n), outputs.Select(o => o.Sequence));
        Assert.Equal(outputs.Count, outputs.Select(o => o.InputId).Distinct().Count());
        // Each success is its own input's value, the first report of the duplicate wins, and the stale one is not there.
        Assert.All(outputs.Where(o => Result(o).Status == InputStatus.Success), o => Assert.Equal(o.Index, Payloads.Value(Result(o))));
        Assert.DoesNotContain(outputs, o => o.InputId == held[68].InputId);
        Assert.Equal(1, (await store.ReadOutputsAsync("fc-1", 0, 100)).Unfinished);
        Assert.Empty((await store.ReadOutputsAsync("fc-2", 0, 10)).Outputs);
        Assert.Equal(1, (await store.CompleteAsync("ct-a", [new AttemptResult(held[68].InputId, held[68].Attempt, Success(68))])).Finished);
    }

    [Fact]
    public async Task A_failure_is_retried_per_the_functions_policy_and_the_last_attempts_failure_is_the_output()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store, Spec(configure: s => s.Retries = new RetryPolicy { MaxRetries = 2, InitialDelayMs = 0 }));
        await CallAsync(store, functionId, "fc-1", 1);
        await ContainerAsync(store, functionId, "ct-a");

        for (int attempt = 1; attempt <= 2; attempt++)
        {
            var claimed = await ClaimOneAsync(store, functionId, "ct-a");
            Assert.Equal(attempt, claimed.Attempt);
            var retried = await store.CompleteAsync("ct-a", [new AttemptResult(claimed.InputId, claimed.Attempt, Failure())]);
            Assert.Equal((0, 1), (retried.Finished, retried.Retried));
            Assert.Empty((await store.ReadOutputsAsync("fc-1", 0, 10)).Outputs);
        }
        var last = await ClaimOneAsync(store, functionId, "ct-a");
        var final = await store.CompleteAsync("ct-a", [new AttemptResult(last.InputId, 3, Failure())]);

        Assert.Equal((1, 0), (final.Finished, final.Retried));
        Assert.Equal(InputStatus.Failure, Result((await store.ReadOutputsAsync("fc-1", 0, 10)).Outputs.Single()).Status);
    }

    [Fact]
    public async Task A_retry_waits_for_its_backoff_before_it_can_be_claimed()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store, Spec(configure: s => s.Retries = new RetryPolicy { MaxRetries = 1, InitialDelayMs = 60_000 }));
        await CallAsync(store, functionId, "fc-1", 1);
        await ContainerAsync(store, functionId, "ct-a");
        var claimed = await ClaimOneAsync(store, functionId, "ct-a");

        Assert.Equal(1, (await store.CompleteAsync("ct-a", [new AttemptResult(claimed.InputId, claimed.Attempt, Failure())])).Retried);

        Assert.Empty(await store.ClaimAsync(functionId, [new ContainerCredit("ct-a", 1)]));
        Assert.InRange((await store.ReadLoadAsync()).Single().DelayedDueInMs, 50_000, 60_000);
    }

    [Fact]
    public async Task A_used_idempotency_key_replays_the_first_requests_result_and_changes_nothing()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        var first = await CallAsync(store, functionId, "fc-1", 2, key: "key-1");
        var rows = await store.CountRowsAsync();

        var replay = await CallAsync(store, functionId, "fc-2", 3, key: "key-1");

        Assert.Equal(first.CallId, replay.CallId);
        Assert.Equal(first.InputIds, replay.InputIds);
        Assert.True(replay.Replayed);
        Assert.Equal(rows, await store.CountRowsAsync());
        Assert.Null(await store.GetCallAsync("fc-2"));

        var put = await store.PutInputsAsync("fc-1", [new NewInput("fc-1-in-9", 9, [9])], last: true, "key-2", NoLimits);
        var putAgain = await store.PutInputsAsync("fc-1", [new NewInput("fc-1-in-10", 10, [10])], last: true, "key-2", NoLimits);
        Assert.Equal(["fc-1-in-9"], put.InputIds);
        Assert.Equal(["fc-1-in-9"], putAgain.InputIds);
        Assert.Equal((false, true), (put.Replayed, putAgain.Replayed));
        var call = await store.GetCallAsync("fc-1");
        Assert.Equal((3, true), (call!.InputCount, call.InputsComplete));
        var refused = await Assert.ThrowsAsync<StoreRejection>(() =>
            store.PutInputsAsync("fc-1", [new NewInput("fc-1-in-11", 11, [11])], last: false, "key-3", NoLimits));
        Assert.Equal(StoreRejectionKind.FailedPrecondition, refused.Kind);
    }

    [Fact]
    public async Task Concurrent_requests_with_one_idempotency_key_enqueue_once()
    {
        var first = await OpenAsync();
        var second = await OpenAsync();
        string functionId = await FunctionAsync(first);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            CallAsync(i % 2 == 0 ? first : second, functionId, $"fc-{i}", 2, key: "key-shared")));

        Assert.Single(results, r => !r.Replayed);
        Assert.Single(results.Select(r => r.CallId).Distinct());
        Assert.Equal(2, (await first.CountRowsAsync())["inputs"]);
    }

    [Fact]
    public async Task Backlog_limits_refuse_inputs_past_the_count_or_the_bytes_and_nothing_of_the_request_is_kept()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        var byCount = new BacklogLimits(2, long.MaxValue);

        var tooMany = await Assert.ThrowsAsync<StoreRejection>(() => CallAsync(store, functionId, "fc-1", 3, limits: byCount));
        Assert.Equal(StoreRejectionKind.ResourceExhausted, tooMany.Kind);
        Assert.Null(await store.GetCallAsync("fc-1"));
        await CallAsync(store, functionId, "fc-2", 2, limits: byCount);
        await Assert.ThrowsAsync<StoreRejection>(() => store.PutInputsAsync("fc-2", [new NewInput("x", 5, [1])], false, null, byCount));

        string other = await FunctionAsync(store, Spec("Cube"), "ap-2", "other");
        var byBytes = new BacklogLimits(long.MaxValue, 10);
        await store.CreateCallAsync(new NewCall("fc-3", other, 0, null, false), [new NewInput("b-1", 0, new byte[6])], null, byBytes);
        var tooBig = await Assert.ThrowsAsync<StoreRejection>(() =>
            store.PutInputsAsync("fc-3", [new NewInput("b-2", 1, new byte[6])], false, null, byBytes));
        Assert.Equal(StoreRejectionKind.ResourceExhausted, tooBig.Kind);
        Assert.Contains("10 bytes", tooBig.Message);
        Assert.Equal(1, (await store.GetCallAsync("fc-3"))!.InputCount);
        Assert.Equal(3, (await store.CountRowsAsync())["inputs"]);
    }

    [Fact]
    public async Task Calls_to_unknown_functions_or_stopped_apps_are_refused()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);

        Assert.Equal(StoreRejectionKind.NotFound, (await Assert.ThrowsAsync<StoreRejection>(() => CallAsync(store, "fu-missing", "fc-1", 1))).Kind);
        Assert.Equal(StoreRejectionKind.NotFound,
            (await Assert.ThrowsAsync<StoreRejection>(() => store.PutInputsAsync("fc-missing", [], true, null, NoLimits))).Kind);
        await store.StopAppAsync("ap-1");
        Assert.Equal(StoreRejectionKind.FailedPrecondition, (await Assert.ThrowsAsync<StoreRejection>(() => CallAsync(store, functionId, "fc-2", 1))).Kind);
    }

    [Fact]
    public async Task Output_sequences_have_no_gaps_even_for_a_reader_polling_while_concurrent_completions_commit()
    {
        const int Inputs = 240, Containers = 4;
        var store = await OpenAsync();
        var replica = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await CallAsync(store, functionId, "fc-1", Inputs);
        var claims = new List<(string Container, List<ClaimedInput> Inputs)>();
        for (int c = 0; c < Containers; c++)
        {
            await ContainerAsync(store, functionId, $"ct-{c}");
            claims.Add(($"ct-{c}", (await store.ClaimAsync(functionId, [new ContainerCredit($"ct-{c}", Inputs / Containers)]))
                .SelectMany(a => a.Inputs).ToList()));
        }
        Assert.Equal(Inputs, claims.Sum(c => c.Inputs.Count));

        using var done = new CancellationTokenSource();
        var seen = new List<OutputRow>();
        var reader = Task.Run(async () =>
        {
            long after = 0;
            while (seen.Count < Inputs)
            {
                var page = await replica.ReadOutputsAsync("fc-1", after, 1000);
                foreach (var output in page.Outputs)
                {
                    // A reader that saw sequence n + 1 before n would skip n for good.
                    Assert.Equal(after + 1, output.Sequence);
                    after = output.Sequence;
                    seen.Add(output);
                }
                done.Token.ThrowIfCancellationRequested();
            }
        });
        await Task.WhenAll(claims.Select((claim, c) => Task.Run(async () =>
        {
            var writer = c % 2 == 0 ? store : replica;
            foreach (var batch in claim.Inputs.Chunk(3))
            {
                await writer.CompleteAsync(claim.Container, batch.Select(i => new AttemptResult(i.InputId, i.Attempt, Success(i.Index % 100))).ToList());
            }
        })));
        done.CancelAfter(TimeSpan.FromSeconds(30));
        await reader;

        Assert.Equal(Enumerable.Range(1, Inputs).Select(i => (long)i), seen.Select(o => o.Sequence));
        Assert.Equal(Inputs, seen.Select(o => o.InputId).Distinct().Count());
        Assert.Equal(0, (await store.ReadOutputsAsync("fc-1", 0, 1)).Unfinished);
    }

    [Fact]
    public async Task A_re_claimed_generator_shows_only_the_new_attempts_items()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store, Spec("Tokens", s => s.Kind = FunctionKind.Generator));
        await CallAsync(store, functionId, "fc-g", 1, isGenerator: true);
        await ContainerAsync(store, functionId, "ct-a");
        var first = await ClaimOneAsync(store, functionId, "ct-a");
        Assert.True(first.IsGenerator);
        Assert.True(await store.AppendChunksAsync("ct-a", first.InputId, first.Attempt, [new(0, [10]), new(1, [11]), new(2, [12])]));
        Assert.True(await store.AppendChunksAsync("ct-a", first.InputId, first.Attempt, [new(2, [99]), new(3, [13])]));
        var before = await store.ReadChunksAsync("fc-g", 1, 100);
        Assert.Equal((first.Attempt, false), (before.Attempt, before.Finished));
        Assert.Equal(new byte[] { 11, 12, 13 }, before.Chunks.Select(c => c.Data.Single()).ToArray());

        await store.EndContainerAsync("ct-a", "SIGKILL", 8);
        await ContainerAsync(store, functionId, "ct-b");
        var second = await ClaimOneAsync(store, functionId, "ct-b");
        Assert.Equal(first.Attempt + 1, (await store.ReadChunksAsync("fc-g", 0, 100)).Attempt);
        Assert.Empty((await store.ReadChunksAsync("fc-g", 0, 100)).Chunks);
        Assert.Equal(second.Attempt, (await store.GetCallAsync("fc-g"))!.GeneratorAttempt);
        Assert.True(await store.AppendChunksAsync("ct-b", second.InputId, second.Attempt, [new(0, [20])]));
        byte[] result = new FunctionResult { Status = InputStatus.Success, GeneratorCount = 1 }.ToByteArray();
        await store.CompleteAsync("ct-b", [new AttemptResult(second.InputId, second.Attempt, result)]);

        var page = await store.ReadChunksAsync("fc-g", 0, 100);
        Assert.Equal((second.Attempt, true), (page.Attempt, page.Finished));
        Assert.Equal(new byte[] { 20 }, page.Chunks.Single().Data);
        Assert.Equal(result, page.Result);
        Assert.False((await store.ReadChunksAsync("fc-missing", 0, 1)).Known);
    }

    [Fact]
    public async Task A_generator_failure_is_not_retried()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store, Spec("Tokens", s =>
        {
            s.Kind = FunctionKind.Generator;
            s.Retries = new RetryPolicy { MaxRetries = 3 };
        }));
        await CallAsync(store, functionId, "fc-g", 1, isGenerator: true);
        await ContainerAsync(store, functionId, "ct-a");
        var claimed = await ClaimOneAsync(store, functionId, "ct-a");

        var completed = await store.CompleteAsync("ct-a", [new AttemptResult(claimed.InputId, claimed.Attempt, Failure())]);

        Assert.Equal((1, 0), (completed.Finished, completed.Retried));
    }

    // ---- Containers ----------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_heartbeat_cancels_inputs_the_container_no_longer_holds_and_requeues_those_it_does_not_report()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await CallAsync(store, functionId, "fc-1", 2);
        await ContainerAsync(store, functionId, "ct-a");
        var claimed = (await store.ClaimAsync(functionId, [new ContainerCredit("ct-a", 2)])).SelectMany(a => a.Inputs).ToList();
        Assert.Equal(2, claimed.Count);
        var reported = claimed[0];
        await Task.Delay(30);

        var beat = await store.HeartbeatContainerAsync("ct-a",
            [new ActiveAttempt(reported.InputId, reported.Attempt), new ActiveAttempt("fc-other-in", 1)], 10_000, 0);

        Assert.True(beat.Known);
        Assert.False(beat.Stop);
        Assert.Equal(["fc-other-in"], beat.CancelledInputIds);
        Assert.Equal(1, beat.Requeued);
        var again = await ClaimOneAsync(store, functionId, "ct-a");
        Assert.Equal((claimed[1].InputId, claimed[1].Attempt + 1), (again.InputId, again.Attempt));
        // Within the grace an unreported input is assumed to be on its way to the worker.
        Assert.Equal(0, (await store.HeartbeatContainerAsync("ct-a", [new ActiveAttempt(reported.InputId, reported.Attempt)], 10_000, 60_000)).Requeued);
        await store.RequestContainerStopAsync("ct-a", kill: false);
        Assert.True((await store.HeartbeatContainerAsync("ct-a", [], 10_000, 60_000)).Stop);
        Assert.False((await store.HeartbeatContainerAsync("ct-missing", [], 10_000, 0)).Known);
    }

    [Fact]
    public async Task A_heartbeat_keeps_the_slot_utilization_it_carries_and_one_without_a_measure_keeps_the_last()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await ContainerAsync(store, functionId, "ct-a");
        Assert.Null((await store.GetContainerAsync("ct-a"))!.SlotUtilization);

        await store.HeartbeatContainerAsync("ct-a", [], 10_000, 0, slotUtilization: 0.25);
        Assert.Equal(0.25, (await store.GetContainerAsync("ct-a"))!.SlotUtilization);
        await store.HeartbeatContainerAsync("ct-a", [], 10_000, 0);
        Assert.Equal(0.25, Assert.Single(await store.ListContainersAsync()).SlotUtilization);
        await store.HeartbeatContainerAsync("ct-a", [], 10_000, 0, slotUtilization: 1);
        Assert.Equal(1.0, (await store.GetContainerAsync("ct-a"))!.SlotUtilization);
    }

    [Fact]
    public async Task Ending_a_container_requeues_its_inputs_and_fails_them_after_the_internal_failure_limit()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await CallAsync(store, functionId, "fc-1", 1);
        for (int i = 0; i < 2; i++)
        {
            await ContainerAsync(store, functionId, $"ct-{i}");
            await ClaimOneAsync(store, functionId, $"ct-{i}");
            var ended = await store.EndContainerAsync($"ct-{i}", "SIGKILL", internalFailureLimit: 2);
            Assert.Equal((true, functionId, true, 1), (ended.Known, ended.FunctionId, ended.SaidHello, ended.Requeued));
            Assert.Empty(ended.FinishedCallIds);
            Assert.Null(await store.GetContainerAsync($"ct-{i}"));
        }
        await ContainerAsync(store, functionId, "ct-2");
        await ClaimOneAsync(store, functionId, "ct-2");

        var last = await store.EndContainerAsync("ct-2", "SIGKILL", internalFailureLimit: 2);

        Assert.Equal(["fc-1"], last.FinishedCallIds);
        var output = Result((await store.ReadOutputsAsync("fc-1", 0, 10)).Outputs.Single());
        Assert.Equal((InputStatus.Failure, "Modal.ContainerFailure"), (output.Status, output.ExceptionType));
        Assert.Contains("SIGKILL", output.ExceptionMessage);
        Assert.False((await store.EndContainerAsync("ct-2", "again", 2)).Known);
        await store.RegisterContainerAsync(new NewContainer("ct-never", functionId, "ap-1", [1], "rp-test", 60_000));
        Assert.False((await store.EndContainerAsync("ct-never", "no hello", 2)).SaidHello);
    }

    [Fact]
    public async Task Containers_past_their_lease_or_startup_deadline_are_found_expired()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await store.RegisterContainerAsync(new NewContainer("ct-slow", functionId, "ap-1", [1], "rp-test", 1));
        await store.RegisterContainerAsync(new NewContainer("ct-silent", functionId, "ap-1", [1], "rp-test", 60_000));
        Assert.True(await store.ContainerHelloAsync("ct-silent", null, 1));
        await ContainerAsync(store, functionId, "ct-fine");
        Assert.False(await store.ContainerHelloAsync("ct-missing", null, 1));
        await Task.Delay(50);

        Assert.Equal(["ct-silent", "ct-slow"], (await store.FindExpiredContainersAsync()).Order(StringComparer.Ordinal));
        Assert.Equal(["launching", "running", "running"], (await store.ListContainersAsync()).Select(c => c.State).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Startup_failures_count_in_a_row_and_fail_the_queued_inputs_with_the_reason()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await CallAsync(store, functionId, "fc-1", 2);
        Assert.Equal(1, await store.RecordStartupFailureAsync(functionId, "no GPU"));
        await ContainerAsync(store, functionId, "ct-ok");
        Assert.Equal(1, await store.RecordStartupFailureAsync(functionId, "no GPU"));
        Assert.Equal(2, await store.RecordStartupFailureAsync(functionId, "no GPU"));
        var load = (await store.ReadLoadAsync()).Single();
        Assert.Equal((2, "no GPU"), (load.StartupFailures, load.LastStartupError));

        var failed = await store.FailQueuedInputsAsync(functionId, Outcomes.InitFailure("Square", 2, "no GPU"));

        Assert.Equal(["fc-1"], failed.CallIds);
        Assert.Equal(2, failed.Finished);
        Assert.All((await store.ReadOutputsAsync("fc-1", 0, 10)).Outputs, o => Assert.Equal(InputStatus.InitFailure, Result(o).Status));
    }

    [Fact]
    public async Task An_input_past_its_deadline_is_found_overrun_and_timed_out()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store, Spec(configure: s => s.TimeoutSeconds = 1));
        await CallAsync(store, functionId, "fc-1", 1);
        await ContainerAsync(store, functionId, "ct-a");
        await ClaimOneAsync(store, functionId, "ct-a");
        Assert.Empty(await store.FindOverrunInputsAsync(0));
        await Task.Delay(1_100);

        var overrun = (await store.FindOverrunInputsAsync(0)).Single();
        Assert.Equal(("fc-1-in-0", "ct-a", "Square", 1), (overrun.InputId, overrun.ContainerId, overrun.FunctionName, overrun.TimeoutSeconds));
        Assert.Equal(1, (await store.TimeOutAsync(overrun)).Finished);
        Assert.Equal(InputStatus.Timeout, Result((await store.ReadOutputsAsync("fc-1", 0, 10)).Outputs.Single()).Status);
    }

    [Fact]
    public async Task App_progress_lists_unfinished_calls_with_inputs_finished_of_sent_and_each_functions_containers()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        string otherAppsFunction = await FunctionAsync(store, appId: "ap-2", appName: "other");
        await CallAsync(store, functionId, "fc-1-map", 3);
        await store.PutInputsAsync("fc-1-map", [new NewInput("fc-1-map-in-3", 3, [3])], last: true, null, NoLimits);
        await CallAsync(store, functionId, "fc-2-done", 1);
        await CallAsync(store, otherAppsFunction, "fc-other", 2);
        await ContainerAsync(store, functionId, "ct-a");
        await store.RegisterContainerAsync(new NewContainer("ct-b", functionId, "ap-1", [1, 2], "rp-test", 60_000));
        await ContainerAsync(store, functionId, "ct-stopping");
        await store.RequestContainerStopAsync("ct-stopping", kill: false);
        for (int i = 0; i < 3; i++)
        {
            var claimed = await ClaimOneAsync(store, functionId, "ct-a");
            await store.CompleteAsync("ct-a", [new AttemptResult(claimed.InputId, claimed.Attempt, Success(i))]);
        }
        var running = await ClaimOneAsync(store, functionId, "ct-a");
        long beforeLast = store.NowMs;
        if (running.CallId == "fc-1-map")
        {
            await store.CompleteAsync("ct-a", [new AttemptResult(running.InputId, running.Attempt, Success(0))]);
            running = await ClaimOneAsync(store, functionId, "ct-a");
        }
        Assert.Equal("fc-2-done", running.CallId);
        await store.CompleteAsync("ct-a", [new AttemptResult(running.InputId, running.Attempt, Success(9))]);
        await CallAsync(store, functionId, "fc-3-open", 2);

        var unfinishedOnly = await store.ReadAppProgressAsync("ap-1", long.MaxValue, 100);
        var withFinished = await store.ReadAppProgressAsync("ap-1", beforeLast - 1000, 100);

        var open = Assert.Single(unfinishedOnly.Calls);
        Assert.Equal(("fc-3-open", functionId, "Square", 2, 0, false, (long?)null), (open.Id, open.FunctionId, open.FunctionName, open.InputCount,
            open.FinishedInputs, open.InputsComplete, open.FinishedUnixMs));
        Assert.InRange(open.CreatedUnixMs, beforeLast - 1000, store.NowMs + 1000);
        // Unfinished calls first; finished ones (at or after the time given) newest first; another app's calls never.
        Assert.Equal(["fc-3-open", "fc-2-done", "fc-1-map"], withFinished.Calls.Select(call => call.Id));
        var map = withFinished.Calls.Single(call => call.Id == "fc-1-map");
        Assert.Equal((4, 4, true), (map.InputCount, map.FinishedInputs, map.InputsComplete));
        Assert.InRange(map.FinishedUnixMs!.Value, beforeLast - 1000, store.NowMs + 1000);
        Assert.Equal(["fc-3-open"], (await store.ReadAppProgressAsync("ap-1", store.NowMs + 60_000, 100)).Calls.Select(call => call.Id));
        Assert.Single((await store.ReadAppProgressAsync("ap-1", 0, 1)).Calls);

        var function = Assert.Single(withFinished.Functions);
        Assert.Equal(new FunctionProgressRow(functionId, "Square", Ready: 2, Running: 0, StartingContainers: 1, RunningContainers: 1), function);
        Assert.Equal(["fc-other"], (await store.ReadAppProgressAsync("ap-2", long.MaxValue, 100)).Calls.Select(call => call.Id));
        Assert.Empty((await store.ReadAppProgressAsync("ap-missing", 0, 100)).Calls);
    }

    // ---- Cancelling and stopping ---------------------------------------------------------------------------------

    [Fact]
    public async Task Cancelling_a_call_terminates_its_unfinished_inputs_and_names_the_containers_running_them()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await CallAsync(store, functionId, "fc-1", 3);
        await ContainerAsync(store, functionId, "ct-a");
        var running = await ClaimOneAsync(store, functionId, "ct-a");
        await store.CompleteAsync("ct-a", [new AttemptResult(running.InputId, running.Attempt, Success(1))]);
        running = await ClaimOneAsync(store, functionId, "ct-a");

        var containers = await store.CancelCallAsync("fc-1", terminateContainers: true);

        Assert.Equal(["ct-a"], containers);
        var page = await store.ReadOutputsAsync("fc-1", 0, 10);
        Assert.Equal(0, page.Unfinished);
        Assert.Equal([InputStatus.Success, InputStatus.Terminated, InputStatus.Terminated], page.Outputs.Select(o => Result(o).Status));
        Assert.True((await store.GetCallAsync("fc-1"))!.Cancelled);
        Assert.True((await store.GetContainerAsync("ct-a"))!.KillRequested);
        Assert.Equal(1, (await store.CompleteAsync("ct-a", [new AttemptResult(running.InputId, running.Attempt, Success(2))])).Ignored);
        Assert.Equal([running.InputId], (await store.HeartbeatContainerAsync("ct-a", [new ActiveAttempt(running.InputId, running.Attempt)], 10_000, 0))
            .CancelledInputIds);
        Assert.Null(await store.CancelCallAsync("fc-missing", false));
        Assert.Equal((0L, 0L), (await store.ReadLoadAsync()).Select(l => (l.Ready, l.Running)).Single());
    }

    [Fact]
    public async Task Stopping_an_app_terminates_its_inputs_and_asks_its_containers_to_stop()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        await CallAsync(store, functionId, "fc-1", 2);
        await ContainerAsync(store, functionId, "ct-a");
        await ClaimOneAsync(store, functionId, "ct-a");

        Assert.True(await store.StopAppAsync("ap-1"));

        Assert.False(await store.StopAppAsync("ap-1"));
        Assert.Null(await store.StopAppAsync("ap-missing"));
        Assert.Equal("stopped", (await store.GetAppAsync("ap-1"))!.State);
        Assert.All((await store.ReadOutputsAsync("fc-1", 0, 10)).Outputs, o => Assert.Equal(InputStatus.Terminated, Result(o).Status));
        var container = (await store.GetContainerAsync("ct-a"))!;
        Assert.Equal(("stopping", true, true), (container.State, container.StopRequested, container.KillRequested));
        Assert.Empty(await store.ReadLoadAsync());
        Assert.Empty(await store.ListAppsAsync(includeStopped: false));
        Assert.Single(await store.ListAppsAsync(includeStopped: true));
        Assert.Null(await store.FindFunctionAsync("app", "Square"));
        Assert.False(await store.HeartbeatAppAsync("ap-1"));
    }

    [Fact]
    public async Task Ephemeral_apps_without_a_recent_heartbeat_are_stopped_and_deployed_apps_are_not()
    {
        var store = await OpenAsync();
        await FunctionAsync(store, appId: "ap-quiet", appName: "quiet");
        await FunctionAsync(store, appId: "ap-deployed", appName: "served", kind: AppKind.Deployed);
        await Task.Delay(50);

        Assert.Empty(await store.StopSilentAppsAsync(60_000));
        Assert.Equal(["ap-quiet"], await store.StopSilentAppsAsync(10));

        Assert.Equal("stopped", (await store.GetAppAsync("ap-quiet"))!.State);
        Assert.Equal("deployed", (await store.GetAppAsync("ap-deployed"))!.State);
    }

    // ---- Replicas and retention ----------------------------------------------------------------------------------

    [Fact]
    public async Task The_leader_lease_is_held_by_one_replica_and_taken_over_after_it_expires()
    {
        var first = await OpenAsync();
        var second = await OpenAsync();

        Assert.True(await first.TryLeadAsync("rp-1", 300));
        Assert.False(await second.TryLeadAsync("rp-2", 300));
        Assert.True(await first.TryLeadAsync("rp-1", 300));
        await Task.Delay(400);
        Assert.True(await second.TryLeadAsync("rp-2", 10_000));
        Assert.False(await first.TryLeadAsync("rp-1", 300));
        await second.ResignAsync("rp-2");
        Assert.True(await first.TryLeadAsync("rp-1", 300));
    }

    [Fact]
    public async Task Replicas_are_listed_by_url_until_their_registration_expires_or_they_resign()
    {
        var first = await OpenAsync();
        var second = await OpenAsync();

        await first.RegisterReplicaAsync("rp-1", "http://127.0.0.1:5001", 60_000);
        await second.RegisterReplicaAsync("rp-2", "http://127.0.0.1:5002", 200);
        await first.RegisterReplicaAsync("rp-1", "http://127.0.0.1:5001", 60_000);
        Assert.Equal(["http://127.0.0.1:5001", "http://127.0.0.1:5002"], await first.ListReplicaUrlsAsync());
        await Task.Delay(300);
        Assert.Equal(["http://127.0.0.1:5001"], await second.ListReplicaUrlsAsync());
        await first.ResignAsync("rp-1");
        Assert.Empty(await second.ListReplicaUrlsAsync());
    }

    [Fact]
    public async Task Retention_deletes_finished_calls_with_their_rows_stopped_apps_and_old_blobs_in_bounded_batches()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        var empty = await store.CountRowsAsync();
        await ContainerAsync(store, functionId, "ct-a");
        for (int c = 0; c < 3; c++)
        {
            await CallAsync(store, functionId, $"fc-{c}", 2, key: $"key-{c}");
            foreach (var claimed in (await store.ClaimAsync(functionId, [new ContainerCredit("ct-a", 2)])).SelectMany(a => a.Inputs))
            {
                await store.CompleteAsync("ct-a", [new AttemptResult(claimed.InputId, claimed.Attempt, Success(1))]);
            }
        }
        await CallAsync(store, functionId, "fc-running", 1);
        await store.InsertBlobAsync("bl-1", 42);
        Assert.Equal(42, await store.GetBlobSizeAsync("bl-1"));
        await Task.Delay(30);

        Assert.Equal(0, (await store.DeleteExpiredAsync(3_600_000, 3_600_000, 100)).Calls);
        var first = await store.DeleteExpiredAsync(0, 0, maxRows: 2);
        var second = await store.DeleteExpiredAsync(0, 0, maxRows: 2);

        Assert.Equal((2, 1), (first.Calls, second.Calls));
        var rows = await store.CountRowsAsync();
        Assert.Equal((1L, 1L, 0L), (rows["calls"], rows["inputs"], rows["outputs"]));
        Assert.Equal(0, rows["idempotency"]);
        Assert.NotNull(await store.GetCallAsync("fc-running"));

        await store.StopAppAsync("ap-1");
        await store.EndContainerAsync("ct-a", "stopped", 8);
        await Task.Delay(30);
        var apps = await store.DeleteExpiredAsync(0, 0, 100);
        Assert.Equal((1, 1), (apps.Calls, apps.Apps));
        Assert.Equal(0, (await store.CountRowsAsync())["apps"]);
        Assert.Equal(["apps", "app_versions", "functions", "calls", "inputs", "outputs", "chunks", "containers", "idempotency", "request_keys"],
            (await store.CountRowsAsync()).Where(kv => kv.Value == 0 && kv.Key != "blobs").Select(kv => kv.Key));
        Assert.Equal(empty.Keys.Order(), (await store.CountRowsAsync()).Keys.Order());
    }

    [Fact]
    public async Task Two_store_instances_claiming_from_one_function_never_claim_an_input_twice()
    {
        const int Inputs = 300;
        var first = await OpenAsync();
        var second = await OpenAsync();
        string functionId = await FunctionAsync(first);
        await CallAsync(first, functionId, "fc-1", Inputs);
        await ContainerAsync(first, functionId, "ct-1");
        await ContainerAsync(second, functionId, "ct-2");

        async Task<List<string>> DrainAsync(IControlStore store, string containerId)
        {
            var claimed = new List<string>();
            int empty = 0;
            while (empty < 3)
            {
                var inputs = (await store.ClaimAsync(functionId, [new ContainerCredit(containerId, 4)])).SelectMany(a => a.Inputs).ToList();
                empty = inputs.Count == 0 ? empty + 1 : 0;
                claimed.AddRange(inputs.Select(i => i.InputId));
                // Completing frees the slots, as a worker would.
                await store.CompleteAsync(containerId, inputs.Select(i => new AttemptResult(i.InputId, i.Attempt, Success(1))).ToList());
            }
            return claimed;
        }
        var both = await Task.WhenAll(Task.Run(() => DrainAsync(first, "ct-1")), Task.Run(() => DrainAsync(second, "ct-2")));

        var all = both.SelectMany(c => c).ToList();
        Assert.Equal(Inputs, all.Count);
        Assert.Equal(Inputs, all.Distinct().Count());
        Assert.Equal(Inputs, (await first.ReadOutputsAsync("fc-1", 0, 1000)).Outputs.Count);
    }

    [Fact]
    public async Task Store_clock_advances_and_every_transaction_is_counted()
    {
        var store = await OpenAsync();
        long before = store.NowMs;
        long transactions = store.TransactionCount;
        await FunctionAsync(store);
        await Task.Delay(20);

        Assert.InRange(store.NowMs - before, 15, 10_000);
        Assert.InRange(Math.Abs(store.NowMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), 0, 5_000);
        Assert.True(store.TransactionCount > transactions);
    }
}
