using System.Diagnostics;
using Grpc.Core;
using Modal.Api;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

public sealed class WorkerTests
{
    private static async Task<FakeWorker> ConnectAsync(TestServer server, int credits = 1, bool heartbeat = true)
    {
        var launched = await server.Launcher.NextAsync();
        var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
        await worker.HelloAsync();
        await worker.StartAsync(credits, heartbeat);
        return worker;
    }

    [Fact]
    public async Task A_launched_worker_gets_its_function_and_outputs_reach_the_caller_in_cursor_order()
    {
        await using var server = await TestServer.StartAsync();
        var (appId, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId,
            PipelinedInputs = { Payloads.Input(0, 1), Payloads.Input(1, 2), Payloads.Input(2, 3) },
        });
        var launched = await server.Launcher.NextAsync();
        Assert.Equal("1", launched.Environment["MODAL_WORKER"]);
        Assert.Equal(server.ControlPlane.Url.ToString().TrimEnd('/'), launched.Environment["MODAL_SERVER_URL"]);
        await using var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
        var hello = await worker.HelloAsync();
        Assert.Equal(appId, hello.AppId);
        Assert.Equal(functionId, hello.FunctionId);
        await worker.StartAsync(credits: 3);

        var inputs = new List<LeasedInput>();
        for (int i = 0; i < 3; i++)
        {
            inputs.AddRange((await worker.NextAsync()).Inputs);
        }
        // Finish them out of order: the cursor follows completion, the index says which input.
        foreach (var input in inputs.OrderByDescending(i => i.Index))
        {
            int x = input.Arguments.Inline[1];
            await worker.PutAsync(input, Payloads.Success(x * x));
        }
        var first = await server.Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest
        {
            FunctionCallId = map.FunctionCallId, TimeoutSeconds = 5, MaxOutputs = 2,
        });
        var rest = await server.Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest
        {
            FunctionCallId = map.FunctionCallId, AfterCursor = first.Cursor, TimeoutSeconds = 5,
        });
        var none = await server.Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest
        {
            FunctionCallId = map.FunctionCallId, AfterCursor = rest.Cursor, TimeoutSeconds = 0,
        });

        Assert.Equal([2, 1], first.Outputs.Select(o => o.Index));
        Assert.Equal([0], rest.Outputs.Select(o => o.Index));
        Assert.True(rest.Cursor > first.Cursor);
        Assert.Empty(none.Outputs);
        Assert.Equal(rest.Cursor, none.Cursor);
        Assert.Equal([9, 4, 1], first.Outputs.Concat(rest.Outputs).Select(o => Payloads.Value(o.Result)));
        Assert.Equal(0, rest.UnfinishedInputs);
    }

    [Fact]
    public async Task A_silent_container_loses_its_lease_and_the_late_output_of_the_old_attempt_is_dropped()
    {
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { LeaseTimeout = TimeSpan.FromSeconds(1) });
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 5) } });
        await using var silent = await ConnectAsync(server, heartbeat: false);
        var firstAttempt = (await silent.NextAsync()).Inputs.Single();
        Assert.Equal(1, firstAttempt.Attempt);

        // No heartbeat: after the lease timeout the input goes to a replacement container as attempt 2.
        await using var replacement = await ConnectAsync(server);
        var secondAttempt = (await replacement.NextAsync()).Inputs.Single();
        Assert.Equal(firstAttempt.InputId, secondAttempt.InputId);
        Assert.Equal(2, secondAttempt.Attempt);
        try
        {
            await silent.PutAsync(firstAttempt, Payloads.Success(1));
        }
        catch (RpcException exception) when (exception.StatusCode == StatusCode.Unauthenticated)
        {
            // The silent container was stopped; its credentials are gone with it.
        }
        await replacement.PutAsync(secondAttempt, Payloads.Success(25));
        await replacement.PutAsync(secondAttempt, Payloads.Success(2)); // a duplicate
        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 1);
        var extra = await server.Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest
        {
            FunctionCallId = map.FunctionCallId, AfterCursor = outputs.Cursor, TimeoutSeconds = 0.3,
        });

        Assert.Equal(25, Payloads.Value(outputs.Outputs.Single().Result));
        Assert.Empty(extra.Outputs);
    }

    [Fact]
    public async Task A_stale_attempt_from_the_same_container_is_dropped()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 5) } });
        await using var worker = await ConnectAsync(server);
        var input = (await worker.NextAsync()).Inputs.Single();

        await worker.PutAsync(input, Payloads.Success(1), attempt: 7);
        await worker.PutAsync(input, Payloads.Success(25));
        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 1);

        Assert.Equal(25, Payloads.Value(outputs.Outputs.Single().Result));
    }

    [Fact]
    public async Task User_exceptions_are_retried_with_backoff_then_fail()
    {
        var spec = Payloads.Spec();
        spec.Retries = new RetryPolicy { MaxRetries = 2, InitialDelayMs = 200, BackoffCoefficient = 2, MaxDelayMs = 1000 };
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(spec, launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 5) } });
        await using var worker = await ConnectAsync(server);
        var failure = new FunctionResult { Status = InputStatus.Failure, ExceptionType = "System.InvalidOperationException", ExceptionMessage = "boom" };

        var waits = new List<TimeSpan>();
        var attempts = new List<int>();
        var input = (await worker.NextAsync()).Inputs.Single();
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            attempts.Add(input.Attempt);
            await worker.PutAsync(input, failure);
            if (attempt == 3)
            {
                break;
            }
            var clock = Stopwatch.StartNew();
            await worker.GrantAsync(1);
            input = (await worker.NextAsync()).Inputs.Single();
            waits.Add(clock.Elapsed);
        }
        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 1);

        Assert.Equal([1, 2, 3], attempts);
        Assert.True(waits[0] >= TimeSpan.FromMilliseconds(180), $"first retry after {waits[0]}");
        Assert.True(waits[1] >= TimeSpan.FromMilliseconds(380), $"second retry after {waits[1]}");
        var result = outputs.Outputs.Single().Result;
        Assert.Equal(InputStatus.Failure, result.Status);
        Assert.Equal("boom", result.ExceptionMessage);
    }

    [Fact]
    public async Task A_timed_out_attempt_is_retried_per_the_policy_and_the_last_timeout_is_final()
    {
        var spec = Payloads.Spec();
        spec.Retries = new RetryPolicy { MaxRetries = 1, InitialDelayMs = 0, BackoffCoefficient = 1, MaxDelayMs = 1000 };
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(spec, launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 5) } });
        await using var worker = await ConnectAsync(server);
        var timeout = new FunctionResult { Status = InputStatus.Timeout, ExceptionType = "Modal.FunctionTimeout", ExceptionMessage = "too slow" };

        var first = (await worker.NextAsync()).Inputs.Single();
        await worker.PutAsync(first, timeout);
        await worker.GrantAsync(1);
        var second = (await worker.NextAsync()).Inputs.Single();
        await worker.PutAsync(second, timeout);
        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 1);

        Assert.Equal(first.InputId, second.InputId);
        Assert.Equal([1, 2], new[] { first.Attempt, second.Attempt });
        var result = outputs.Outputs.Single().Result;
        Assert.Equal(InputStatus.Timeout, result.Status);
        Assert.Equal("too slow", result.ExceptionMessage);
    }

    [Fact]
    public void Retry_delay_grows_by_the_coefficient_and_is_capped()
    {
        var policy = Store.RetryParameters.Of(new FunctionSpec
        {
            Retries = new RetryPolicy { MaxRetries = 5, InitialDelayMs = 1000, BackoffCoefficient = 3, MaxDelayMs = 5000 },
        });

        Assert.Equal(TimeSpan.FromSeconds(1), Store.AttemptPolicy.DelayBeforeRetry(policy, 1));
        Assert.Equal(TimeSpan.FromSeconds(3), Store.AttemptPolicy.DelayBeforeRetry(policy, 2));
        Assert.Equal(TimeSpan.FromSeconds(5), Store.AttemptPolicy.DelayBeforeRetry(policy, 3));
    }

    [Fact]
    public async Task An_input_whose_worker_overruns_the_timeout_ends_as_timeout_and_the_worker_is_killed()
    {
        var spec = Payloads.Spec();
        spec.TimeoutSeconds = 1;
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { TimeoutGrace = TimeSpan.FromMilliseconds(300) });
        var (_, functionId) = await server.CreateAppAsync(spec, launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 5) } });
        await using var worker = await ConnectAsync(server);
        var input = (await worker.NextAsync()).Inputs.Single();
        Assert.True(input.DeadlineUnixMs > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 1);

        Assert.Equal(InputStatus.Timeout, outputs.Outputs.Single().Result.Status);
        var handle = server.Launcher.Handles[worker.ContainerId];
        await handle.Exited.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Cancelling_a_running_input_tells_its_worker_through_the_heartbeat()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 5) } });
        await using var worker = await ConnectAsync(server);
        var input = (await worker.NextAsync()).Inputs.Single();

        await server.Client.FunctionCallCancelAsync(new FunctionCallCancelRequest { FunctionCallId = map.FunctionCallId });
        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 1);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (DateTime.UtcNow < deadline && !worker.Cancelled.Contains(input.InputId))
        {
            await Task.Delay(50);
        }
        await worker.PutAsync(input, Payloads.Success(25)); // too late: dropped

        Assert.Equal(InputStatus.Terminated, outputs.Outputs.Single().Result.Status);
        Assert.Contains(input.InputId, worker.Cancelled);
    }

    [Fact]
    public async Task Generator_items_stream_in_order_until_the_done_marker()
    {
        var spec = Payloads.Spec("Tokens");
        spec.Kind = FunctionKind.Generator;
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(spec, launch: true);
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, IsGeneratorCall = true, PipelinedInputs = { Payloads.Input(0, 3) },
        });
        await using var worker = await ConnectAsync(server);
        var input = (await worker.NextAsync()).Inputs.Single();
        Assert.True(input.IsGeneratorCall);
        using var stream = server.Client.FunctionCallGetDataOut(new FunctionCallGetDataOutRequest { FunctionCallId = map.FunctionCallId });
        var reading = Task.Run(async () =>
        {
            var items = new List<long>();
            await foreach (var chunk in stream.ResponseStream.ReadAllAsync())
            {
                items.Add(chunk.Index * 100 + chunk.Data.Inline[0]);
            }
            return items;
        });

        await worker.PutDataAsync(input, new DataChunk { Index = 1, Data = Payloads.Ints() });
        await worker.PutDataAsync(input, new DataChunk { Index = 0, Data = Payloads.Ints() });
        await worker.PutDataAsync(input, new DataChunk { Index = 2, Data = Payloads.Ints() });
        await worker.PutAsync(input, new FunctionResult { Status = InputStatus.Success, GeneratorCount = 3 });

        var items = await reading.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([0 * 100 + 0x90, 1 * 100 + 0x90, 2 * 100 + 0x90], items);
    }

    [Fact]
    public async Task Batched_functions_get_full_batches_and_partial_ones_after_the_wait()
    {
        var spec = Payloads.Spec("Double");
        spec.Kind = FunctionKind.Batched;
        spec.Batch = new BatchOptions { MaxBatchSize = 3, WaitMs = 300 };
        spec.MinContainers = 1;
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(spec, launch: true);
        await using var worker = await ConnectAsync(server, credits: 2);

        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId,
            PipelinedInputs = { Payloads.Input(0, 1), Payloads.Input(1, 2), Payloads.Input(2, 3), Payloads.Input(3, 4) },
        });
        var full = await worker.NextAsync();
        var partial = await worker.NextAsync();

        Assert.Equal([0, 1, 2], full.Inputs.Select(i => i.Index));
        Assert.Equal([3], partial.Inputs.Select(i => i.Index));
        foreach (var input in full.Inputs.Concat(partial.Inputs))
        {
            await worker.PutAsync(input, Payloads.Success(2 * input.Arguments.Inline[1]));
        }
        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 4);
        Assert.Equal([2, 4, 6, 8], outputs.Outputs.OrderBy(o => o.Index).Select(o => Payloads.Value(o.Result)));
    }

    [Fact]
    public async Task Workers_with_a_wrong_token_are_unauthenticated()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateAppAsync(Payloads.Spec(), launch: true);
        await using var impostor = server.Worker("ct-unknown", "nope");

        var error = await Assert.ThrowsAsync<RpcException>(impostor.HelloAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task A_sync_call_that_asks_to_wait_gets_its_output_in_the_FunctionMap_response()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec(), launch: true);
        var mapping = server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, Invocation = FunctionCallInvocation.Sync, PipelinedInputs = { Payloads.Input(0, 7) },
            IdempotencyKey = "inline-1", WaitForOutputSeconds = 30,
        }).ResponseAsync;
        await using var worker = await ConnectAsync(server); // launched for the queued input
        var input = (await worker.NextAsync()).Inputs.Single();
        Assert.False(mapping.IsCompleted, "FunctionMap answered before the output existed");
        await worker.PutAsync(input, Payloads.Success(49));

        var response = await mapping.WaitAsync(TimeSpan.FromSeconds(30));
        var output = Assert.Single(response.Outputs);
        Assert.Equal(input.InputId, output.InputId);
        Assert.Equal(49, Payloads.Value(output.Result));

        // The same request again (a retry after a lost response) is the same call, and waits for nothing new.
        var replay = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, Invocation = FunctionCallInvocation.Sync, PipelinedInputs = { Payloads.Input(0, 7) },
            IdempotencyKey = "inline-1", WaitForOutputSeconds = 30,
        });
        Assert.Equal(response.FunctionCallId, replay.FunctionCallId);
        Assert.Equal(49, Payloads.Value(Assert.Single(replay.Outputs).Result));
    }

    [Fact]
    public async Task Only_a_sync_call_of_one_input_waits_for_its_output_in_FunctionMap()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());
        var limit = TimeSpan.FromSeconds(20); // nothing runs these inputs: a request that waited 60 s would miss this
        var spawned = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, Invocation = FunctionCallInvocation.Async, PipelinedInputs = { Payloads.Input(0, 1) }, WaitForOutputSeconds = 60,
        }).ResponseAsync.WaitAsync(limit);
        var mapped = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, Invocation = FunctionCallInvocation.Sync,
            PipelinedInputs = { Payloads.Input(0, 1), Payloads.Input(1, 2) }, WaitForOutputSeconds = 60,
        }).ResponseAsync.WaitAsync(limit);
        Assert.Empty(spawned.Outputs);
        Assert.Empty(mapped.Outputs);
        Assert.Equal(2, mapped.InputIds.Count);
    }
}
