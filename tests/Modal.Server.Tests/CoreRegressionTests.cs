using Google.Protobuf;
using Grpc.Core;
using Modal.Api;
using Modal.Server.Store;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

/// <summary>
/// One test per finding of the control-plane core review (issue 6): each failed on the memory-first scheduler and
/// passes on the store-first core.
/// </summary>
public sealed class CoreRegressionTests
{
    private static readonly BacklogLimits NoLimits = new(long.MaxValue, long.MaxValue);

    private static async Task<(SqliteControlStore Store, string FunctionId)> StoreWithFunctionAsync(FunctionSpec spec, TimeProvider? time = null)
    {
        var store = new SqliteControlStore(null, time);
        var created = await store.CreateAppAsync(new NewApp("ap-1", "app", (int)AppKind.Ephemeral, []),
            [new NewFunction("fu-1", spec.Name, spec.ToByteArray())]);
        return (store, created.FunctionIds[spec.Name]);
    }

    private static async Task<string> ContainerAsync(IControlStore store, string functionId, string id)
    {
        await store.RegisterContainerAsync(new NewContainer(id, functionId, "ap-1", [1], "rp-test", 60_000));
        Assert.True(await store.ContainerHelloAsync(id, null, 10_000));
        return id;
    }

    [Fact]
    public async Task A_restart_launches_its_first_workers_with_the_server_url_and_saved_inputs_complete_no_init_failure()
    {
        string directory = Directory.CreateTempSubdirectory("modal-restart-").FullName;
        try
        {
            var options = new ControlPlaneOptions { DatabasePath = Path.Combine(directory, "modal.db"), BlobDirectory = directory };
            string callId;
            await using (var first = await TestServer.StartAsync(options))
            {
                var (_, functionId) = await first.CreateAppAsync(Payloads.Spec(), launch: true, kind: AppKind.Deployed);
                callId = (await first.Client.FunctionMapAsync(new FunctionMapRequest
                {
                    FunctionId = functionId, Invocation = FunctionCallInvocation.Async, PipelinedInputs = { Payloads.Input(0, 3) },
                })).FunctionCallId;
                var request = await first.Launcher.NextAsync();
                Assert.StartsWith("http://127.0.0.1:", request.Environment["MODAL_SERVER_URL"]);
            }
            await using var second = await TestServer.StartAsync(options);
            var relaunched = await second.Launcher.NextAsync();
            Assert.StartsWith("http://127.0.0.1:", relaunched.Environment["MODAL_SERVER_URL"]);
            // The worker connects with what it was given and finishes the saved input.
            await using var worker = second.Worker(relaunched.ContainerId, relaunched.ContainerToken);
            await worker.HelloAsync();
            await worker.StartAsync();
            var input = (await worker.NextAsync()).Inputs.Single();
            await worker.PutAsync(input, Payloads.Success(9));
            var outputs = await second.WaitForOutputsAsync(callId, 1);
            Assert.Equal(InputStatus.Success, outputs.Outputs.Single().Result.Status);
            Assert.Equal(9, Payloads.Value(outputs.Outputs.Single().Result));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task An_operation_that_fails_inside_a_group_commit_fails_alone_and_the_others_commit()
    {
        var (store, functionId) = await StoreWithFunctionAsync(Payloads.Spec());
        await using var _ = store;
        var good = store.CreateCallAsync(new NewCall("fc-good", functionId, 0, null, false), [new NewInput("in-1", 0, [1])], null, NoLimits);
        var bad = store.CreateCallAsync(new NewCall("fc-bad", "fu-missing", 0, null, false), [new NewInput("in-2", 0, [1])], null, NoLimits);
        var duplicate = store.CreateCallAsync(new NewCall("fc-good", functionId, 0, null, false), [new NewInput("in-3", 0, [1])], null, NoLimits);

        Assert.Equal(["in-1"], (await good).InputIds);
        await Assert.ThrowsAsync<StoreRejection>(() => bad);
        await Assert.ThrowsAnyAsync<Exception>(() => duplicate);
        var call = await store.GetCallAsync("fc-good");
        Assert.Equal(1, call!.InputCount);
        Assert.Null(await store.GetCallAsync("fc-bad"));
        Assert.Equal(1, (await store.CountRowsAsync())["inputs"]);
    }

    [Fact]
    public async Task An_output_is_accepted_only_from_the_lease_holder_at_the_current_attempt_and_a_retry_after_a_failure_is_not_dropped()
    {
        var (store, functionId) = await StoreWithFunctionAsync(Payloads.Spec());
        await using var _ = store;
        await store.CreateCallAsync(new NewCall("fc-1", functionId, 0, null, false), [new NewInput("in-1", 0, [1])], null, NoLimits);
        await ContainerAsync(store, functionId, "ct-a");
        var claimed = (await store.ClaimAsync(functionId, [new ContainerCredit("ct-a", 1)])).Single().Inputs.Single();
        byte[] result = Payloads.Success(4).ToByteArray();

        Assert.Equal(1, (await store.CompleteAsync("ct-other", [new AttemptResult("in-1", claimed.Attempt, result)])).Ignored);
        Assert.Equal(1, (await store.CompleteAsync("ct-a", [new AttemptResult("in-1", claimed.Attempt + 1, result)])).Ignored);
        // The worker's own (re)send is accepted once, then duplicates are ignored.
        Assert.Equal(1, (await store.CompleteAsync("ct-a", [new AttemptResult("in-1", claimed.Attempt, result)])).Finished);
        Assert.Equal(1, (await store.CompleteAsync("ct-a", [new AttemptResult("in-1", claimed.Attempt, result)])).Ignored);
        var page = await store.ReadOutputsAsync("fc-1", 0, 10);
        Assert.Equal(1, page.Outputs.Single().Sequence);
        Assert.Equal(0, page.Unfinished);
    }

    [Fact]
    public async Task A_generator_re_run_after_its_container_died_shows_only_the_new_attempts_items()
    {
        var spec = Payloads.Spec("Tokens");
        spec.Kind = FunctionKind.Generator;
        var (store, functionId) = await StoreWithFunctionAsync(spec);
        await using var _ = store;
        await store.CreateCallAsync(new NewCall("fc-gen", functionId, 0, null, true), [new NewInput("in-g", 0, [1])], null, NoLimits);
        await ContainerAsync(store, functionId, "ct-a");
        var first = (await store.ClaimAsync(functionId, [new ContainerCredit("ct-a", 1)])).Single().Inputs.Single();
        Assert.True(await store.AppendChunksAsync("ct-a", "in-g", first.Attempt, [new(0, [10]), new(1, [11]), new(2, [12])]));
        await store.EndContainerAsync("ct-a", "SIGKILL", 8);

        await ContainerAsync(store, functionId, "ct-b");
        var second = (await store.ClaimAsync(functionId, [new ContainerCredit("ct-b", 1)])).Single().Inputs.Single();
        Assert.Equal(first.Attempt + 1, second.Attempt);
        Assert.False(await store.AppendChunksAsync("ct-a", "in-g", first.Attempt, [new(3, [13])]));
        Assert.True(await store.AppendChunksAsync("ct-b", "in-g", second.Attempt, [new(0, [20])]));
        await store.CompleteAsync("ct-b", [new AttemptResult("in-g", second.Attempt,
            new FunctionResult { Status = InputStatus.Success, GeneratorCount = 1 }.ToByteArray())]);

        var page = await store.ReadChunksAsync("fc-gen", 0, 100);
        Assert.Equal(second.Attempt, page.Attempt);
        Assert.Equal([20], page.Chunks.Single().Data);
        Assert.True(page.Finished);
    }

    [Theory]
    [InlineData(int.MaxValue, 1000, "max_inputs")]
    [InlineData(10, 0, "batch.max_batch_size")]
    [InlineData(10, 100_000, "batch.max_batch_size")]
    public async Task A_spec_whose_fields_are_out_of_range_is_refused_at_AppCreate_naming_the_field(int maxInputs, int batchSize, string field)
    {
        await using var server = await TestServer.StartAsync();
        var spec = Payloads.Spec("Double");
        spec.Kind = FunctionKind.Batched;
        spec.MaxInputs = maxInputs;
        spec.Batch = new BatchOptions { MaxBatchSize = batchSize, WaitMs = 10 };

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.AppCreateAsync(new AppCreateRequest
        {
            Name = "overflow", Functions = { spec }, Launch = new WorkerLaunchSpec { Executable = "/bin/sleep", Arguments = { "30" } },
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.Status.Detail);
        Assert.Contains("Double", error.Status.Detail);
        // The scheduler still works for the next app.
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());
        Assert.StartsWith("fu-", functionId);
    }

    [Fact]
    public async Task Workers_killed_before_their_hello_are_relaunched_and_never_fail_the_inputs()
    {
        // A kill is not the function's fault: it must not put the function's launches in backoff (an hour here, so that a
        // backoff would show as a launch that never comes; under chaos a 5 s backoff starved a whole map).
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { MaxLaunchBackoff = TimeSpan.FromHours(1) });
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 6) } });
        // Kill eight launches in a row before they say hello (SIGKILL, as a preemption would); a doubling backoff would
        // keep the later ones past NextAsync's 10 s.
        for (int i = 0; i < 8; i++)
        {
            var launched = await server.Launcher.NextAsync();
            await server.Launcher.Handles[launched.ContainerId].StopAsync();
        }
        var survivor = await server.Launcher.NextAsync();
        await using var worker = server.Worker(survivor.ContainerId, survivor.ContainerToken);
        await worker.HelloAsync();
        await worker.StartAsync();
        var input = (await worker.NextAsync()).Inputs.Single();
        await worker.PutAsync(input, Payloads.Success(36));

        var output = (await server.WaitForOutputsAsync(map.FunctionCallId, 1)).Outputs.Single();
        Assert.Equal(InputStatus.Success, output.Result.Status);
        Assert.Equal(36, Payloads.Value(output.Result));
    }

    [Fact]
    public async Task A_worker_that_reports_a_startup_error_three_times_fails_queued_inputs_with_its_reason()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { MaxLaunchBackoff = TimeSpan.FromMilliseconds(100) });
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 6) } });
        for (int i = 0; i < 3; i++)
        {
            var launched = await server.Launcher.NextAsync();
            var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
            await worker.Client.ContainerHelloAsync(new ContainerHelloRequest { ContainerId = launched.ContainerId, StartupError = "Enter threw: no GPU" },
                new Metadata { { "x-modal-container-id", launched.ContainerId }, { "x-modal-container-token", launched.ContainerToken } });
            await worker.DisposeAsync();
        }

        var output = (await server.WaitForOutputsAsync(map.FunctionCallId, 1)).Outputs.Single();
        Assert.Equal(InputStatus.InitFailure, output.Result.Status);
        Assert.Contains("Enter threw: no GPU", output.Result.ExceptionMessage);
        Assert.Contains("3 times", output.Result.ExceptionMessage);
    }

    /// <summary>A clock whose wall time can jump while its monotonic timestamp does not.</summary>
    private sealed class JumpingClock : TimeProvider
    {
        public TimeSpan WallOffset { get; set; }
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + WallOffset;
    }

    [Fact]
    public async Task A_wall_clock_jump_expires_no_lease()
    {
        var clock = new JumpingClock();
        var (store, functionId) = await StoreWithFunctionAsync(Payloads.Spec(), clock);
        await using var _ = store;
        await store.CreateCallAsync(new NewCall("fc-1", functionId, 0, null, false), [new NewInput("in-1", 0, [1])], null, NoLimits);
        await ContainerAsync(store, functionId, "ct-a");
        await store.ClaimAsync(functionId, [new ContainerCredit("ct-a", 1)]);

        clock.WallOffset = TimeSpan.FromSeconds(15);

        Assert.Empty(await store.FindExpiredContainersAsync());
        Assert.Empty(await store.FindOverrunInputsAsync(2_000));
        Assert.True((await store.HeartbeatContainerAsync("ct-a", [new ActiveAttempt("in-1", 1)], 10_000, 5_000)).Known);
    }

    [Fact]
    public async Task Stopped_apps_and_finished_calls_are_deleted_and_the_row_counts_return_to_where_they_were()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions
        {
            RetentionSweepInterval = TimeSpan.FromMilliseconds(50),
            SyncOutputRetention = TimeSpan.FromMilliseconds(1),
            OutputRetention = TimeSpan.FromMilliseconds(1),
        });
        var store = server.ControlPlane.Store;
        var before = await store.CountRowsAsync();
        const int Apps = 10_000;
        await Parallel.ForAsync(0, Apps, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var (appId, functionId) = await server.CreateAppAsync(Payloads.Spec());
            if (i % 100 == 0)
            {
                var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 2) } });
                await server.Client.FunctionCallCancelAsync(new FunctionCallCancelRequest { FunctionCallId = map.FunctionCallId });
            }
            await server.Client.AppStopAsync(new AppStopRequest { AppId = appId });
        });

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        IReadOnlyDictionary<string, long> after;
        do
        {
            await Task.Delay(200);
            after = await store.CountRowsAsync();
        }
        while (DateTime.UtcNow < deadline && after.Any(kv => kv.Value != before[kv.Key]));

        Assert.Equal(before, after);
    }
}

public sealed class IdempotencyTests
{
    [Fact]
    public async Task A_retried_FunctionMap_or_FunctionPutInputs_with_its_key_returns_the_first_answer_and_creates_nothing()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());
        var request = new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 2) }, IdempotencyKey = "map-key-1" };

        var first = await server.Client.FunctionMapAsync(request);
        var retried = await server.Client.FunctionMapAsync(request);
        var put = new FunctionPutInputsRequest { FunctionCallId = first.FunctionCallId, Inputs = { Payloads.Input(1, 3) }, IdempotencyKey = "put-key-1" };
        var firstPut = await server.Client.FunctionPutInputsAsync(put);
        var retriedPut = await server.Client.FunctionPutInputsAsync(put);

        Assert.Equal(first.FunctionCallId, retried.FunctionCallId);
        Assert.Equal(first.InputIds, retried.InputIds);
        Assert.Equal(firstPut.InputIds, retriedPut.InputIds);
        var call = await server.ControlPlane.Store.GetCallAsync(first.FunctionCallId);
        Assert.Equal(2, call!.InputCount);
        Assert.Equal(1, (await server.ControlPlane.Store.CountRowsAsync())["calls"]);
    }
}
