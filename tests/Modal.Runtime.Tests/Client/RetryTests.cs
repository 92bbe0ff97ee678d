using System.Runtime.CompilerServices;
using Grpc.Core;
using Modal.Api;

namespace Modal.Runtime.Tests.Client;

/// <summary>
/// How the client rides out an unreachable or overloaded control plane, against <see cref="FakeControlPlane"/>: which
/// failures are retried, that a retried request keeps its idempotency key, that calls are spread over replicas and
/// pass over a failed one, and that a map neither loses nor repeats an output when requests and replies are lost.
/// </summary>
public sealed class RetryTests
{
    private const string Live = "http://127.0.0.1:1";
    private const string Dead = "http://127.0.0.1:2";
    private static readonly TimeSpan s_window = TimeSpan.FromSeconds(30);
    private static readonly FunctionReference s_function = new("app", "F", null);
    private static readonly byte[] s_noArguments = [0x90];

    private static GrpcBackend Backend(GrpcConnection connection, string functionId = "fn-1")
        => new(connection, "app", new Dictionary<string, string> { ["F"] = functionId }, []);

    private static List<T> Sent<T>(FakeControlPlane fake, string method)
        => fake.Requests.Where(r => r.Method == method).Select(r => (T)r.Request).ToList();

    [Fact]
    public async Task A_spawned_map_sends_async_batches_once_each_through_lost_replies_and_its_outputs_can_be_read_twice()
    {
        var fake = new FakeControlPlane();
        var lost = 0;
        fake.FailAfter = (_, method, _) => method == "FunctionPutInputs" && Interlocked.Increment(ref lost) <= 2 ? FakeControlPlane.RequestAborted() : null;
        using var connection = fake.Connect(s_window, Live);
        var backend = Backend(connection);

        var callId = await backend.SpawnMapAsync(s_function, Inputs(250), CancellationToken.None);

        var map = Assert.Single(Sent<FunctionMapRequest>(fake, "FunctionMap"));
        Assert.Equal(FunctionCallInvocation.Async, map.Invocation);
        Assert.Equal(100, map.PipelinedInputs.Count);
        var puts = Sent<FunctionPutInputsRequest>(fake, "FunctionPutInputs").DistinctBy(put => put.IdempotencyKey).ToList();
        Assert.Equal([100, 50], puts.Select(put => put.Inputs.Count));
        Assert.Equal([false, true], puts.Select(put => put.Last));
        Assert.Equal(250, await backend.GetCallInputCountAsync(callId, CancellationToken.None));
        for (var reading = 0; reading < 2; reading++)
        {
            var indexes = new List<int>();
            await foreach (var output in backend.GetCallOutputsAsync(callId, CancellationToken.None))
            {
                Assert.Null(output.Failure);
                Assert.Equal(Input(output.Index).ToArray(), output.Value.ToArray()); // the fake echoes the arguments
                indexes.Add(output.Index);
            }
            Assert.Equal(Enumerable.Range(0, 250), indexes.Order());
        }

        static async IAsyncEnumerable<ReadOnlyMemory<byte>> Inputs(int count)
        {
            for (var i = 0; i < count; i++)
            {
                yield return Input(i);
            }
            await Task.CompletedTask;
        }

        static ReadOnlyMemory<byte> Input(int i) => ModalSerializer.SerializeArguments([i]);
    }

    [Fact]
    public async Task A_variant_is_made_once_on_the_control_plane_and_its_calls_go_to_its_own_id()
    {
        var fake = new FakeControlPlane();
        using var connection = fake.Connect(s_window, Live);
        var backend = Backend(connection);
        var variant = s_function.WithVariant(FunctionVariant.None.WithConcurrency(4, null));

        await backend.SpawnAsync(variant, s_noArguments, CancellationToken.None);
        await backend.SpawnAsync(variant, s_noArguments, CancellationToken.None);
        await backend.SpawnAsync(s_function, s_noArguments, CancellationToken.None);

        var made = Assert.Single(Sent<FunctionGetVariantRequest>(fake, "FunctionGetVariant"));
        Assert.Equal(("fn-1", "maxInputs: 4", 4), (made.FunctionId, made.VariantKey, made.Overrides.MaxInputs));
        Assert.False(made.Overrides.HasTimeoutSeconds);
        Assert.Equal(["fn-1-variant", "fn-1-variant", "fn-1"], Sent<FunctionMapRequest>(fake, "FunctionMap").Select(map => map.FunctionId));
    }

    [Fact]
    public async Task A_FunctionMap_whose_replies_are_lost_keeps_one_idempotency_key_and_creates_one_call()
    {
        var fake = new FakeControlPlane();
        var lost = 0;
        fake.FailAfter = (_, method, _) => method == "FunctionMap" && Interlocked.Increment(ref lost) <= 2 ? FakeControlPlane.RequestAborted() : null;
        using var connection = fake.Connect(s_window, Live);

        await Backend(connection).SpawnAsync(s_function, s_noArguments, CancellationToken.None);

        var maps = Sent<FunctionMapRequest>(fake, "FunctionMap");
        Assert.Equal(3, maps.Count);
        Assert.Equal(32, maps[0].IdempotencyKey.Length);
        Assert.All(maps, map => Assert.Equal(maps[0].IdempotencyKey, map.IdempotencyKey));
        Assert.Equal(1, fake.CallCount);
    }

    [Fact]
    public async Task Each_new_call_has_its_own_idempotency_key()
    {
        var fake = new FakeControlPlane();
        using var connection = fake.Connect(s_window, Live);
        var backend = Backend(connection);

        await backend.SpawnAsync(s_function, s_noArguments, CancellationToken.None);
        await backend.SpawnAsync(s_function, s_noArguments, CancellationToken.None);

        var keys = Sent<FunctionMapRequest>(fake, "FunctionMap").Select(map => map.IdempotencyKey).ToList();
        Assert.Equal(2, keys.Distinct().Count());
        Assert.Equal(2, fake.CallCount);
    }

    [Fact]
    public async Task A_map_whose_requests_and_replies_are_lost_yields_every_output_once_in_order()
    {
        var fake = new FakeControlPlane();
        var seenKeys = new HashSet<string>();
        var polls = 0;
        fake.FailAfter = (_, method, request) =>
            // The first try of every input batch is applied but its reply is lost.
            request is FunctionPutInputsRequest put && seenKeys.Add(put.IdempotencyKey) ? FakeControlPlane.RequestAborted() : null;
        fake.FailBefore = (_, method, _) =>
            // Every third long poll never arrives.
            method == "FunctionGetOutputs" && Interlocked.Increment(ref polls) % 3 == 0 ? FakeControlPlane.ConnectionRefused() : null;
        using var connection = fake.Connect(s_window, Live);

        var values = await MapAsync(connection, 250);

        Assert.Equal(Enumerable.Range(0, 250), values);
        var puts = Sent<FunctionPutInputsRequest>(fake, "FunctionPutInputs");
        var batches = puts.GroupBy(put => put.IdempotencyKey).ToList();
        // Every batch was sent again with its key, except perhaps the last: once every output is in, its reply is not awaited.
        Assert.All(batches.SkipLast(1), batch => Assert.Equal(2, batch.Count()));
        Assert.InRange(batches[^1].Count(), 1, 2);
        Assert.All(batches, batch => Assert.All(batch, put => Assert.Equal(batch.First().Inputs, put.Inputs)));
        Assert.Equal(250, puts.DistinctBy(put => put.IdempotencyKey).Sum(put => put.Inputs.Count) + Sent<FunctionMapRequest>(fake, "FunctionMap")[0].PipelinedInputs.Count);
    }

    [Fact]
    public async Task A_map_yields_each_output_once_even_when_the_server_repeats_inputs()
    {
        // A control plane that does not (yet) deduplicate: every input batch is stored twice, so each output comes twice.
        var fake = new FakeControlPlane { Deduplicates = false };
        var seenKeys = new HashSet<string>();
        fake.FailAfter = (_, _, request) => request is FunctionPutInputsRequest put && seenKeys.Add(put.IdempotencyKey) ? FakeControlPlane.RequestAborted() : null;
        using var connection = fake.Connect(s_window, Live);

        var values = await MapAsync(connection, 250);

        Assert.Equal(Enumerable.Range(0, 250), values);
    }

    [Fact]
    public async Task A_generator_stream_that_breaks_resumes_from_the_next_index_and_attempt_yielding_each_item_once()
    {
        // The first stream breaks after 4 items, the second after 3 more; the third runs to the end.
        var fake = new FakeControlPlane { GeneratorItems = 10, BreakGeneratorStream = opened => opened switch { 1 => 4, 2 => 3, _ => null } };
        using var connection = fake.Connect(s_window, Live);

        var items = new List<byte>();
        await foreach (var item in Backend(connection).CallGeneratorAsync(s_function, s_noArguments, CancellationToken.None))
        {
            items.Add(item.Span[0]);
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => (byte)i), items);
        var opens = Sent<FunctionCallGetDataOutRequest>(fake, "FunctionCallGetDataOut");
        Assert.Equal([0L, 4L, 7L], opens.Select(open => open.StartIndex));
        Assert.Equal([0, 1, 1], opens.Select(open => open.Attempt));
    }

    [Fact]
    public async Task Calls_are_spread_over_the_replicas_in_turn()
    {
        var fake = new FakeControlPlane();
        using var connection = fake.Connect(s_window, Live, Dead);
        var backend = Backend(connection);

        for (var i = 0; i < 20; i++)
        {
            await backend.SpawnAsync(s_function, s_noArguments, CancellationToken.None);
        }

        Assert.Equal(10, fake.Requests.Count(r => r.Url == Live));
        Assert.Equal(10, fake.Requests.Count(r => r.Url == Dead));
    }

    [Fact]
    public async Task A_replica_that_refuses_connections_is_passed_over_while_another_answers()
    {
        var fake = new FakeControlPlane { FailBefore = (url, _, _) => url == Dead ? FakeControlPlane.ConnectionRefused() : null };
        using var connection = fake.Connect(s_window, Dead, Live);
        var backend = Backend(connection);

        for (var i = 0; i < 20; i++)
        {
            await backend.SpawnAsync(s_function, s_noArguments, CancellationToken.None);
        }

        Assert.Equal(20, fake.CallCount);
        Assert.Equal(20, fake.Requests.Count(r => r.Url == Live));
        // Passed over for two seconds after each failure: far fewer tries than calls.
        Assert.InRange(fake.Requests.Count(r => r.Url == Dead), 1, 10);
    }

    [Fact]
    public async Task A_full_backlog_is_backed_off_until_it_has_room()
    {
        var full = 0;
        var fake = new FakeControlPlane
        {
            FailBefore = (_, method, _) => method == "FunctionMap" && Interlocked.Increment(ref full) <= 3
                ? FakeControlPlane.Status(StatusCode.ResourceExhausted, "backlog full") : null,
        };
        using var connection = fake.Connect(s_window, Live);

        await Backend(connection).SpawnAsync(s_function, s_noArguments, CancellationToken.None);

        Assert.Equal(4, Sent<FunctionMapRequest>(fake, "FunctionMap").Count);
        Assert.Equal(1, fake.CallCount);
    }

    [Fact]
    public async Task A_backlog_that_stays_full_for_the_whole_window_says_the_control_plane_is_at_capacity()
    {
        var fake = new FakeControlPlane { FailBefore = (_, _, _) => FakeControlPlane.Status(StatusCode.ResourceExhausted, "backlog full") };
        using var connection = fake.Connect(TimeSpan.FromMilliseconds(300), Live);

        var exception = await Assert.ThrowsAsync<ModalException>(() => Backend(connection).SpawnAsync(s_function, s_noArguments, CancellationToken.None));

        Assert.IsNotType<ConnectionException>(exception);
        Assert.Contains("at capacity", exception.Message);
        Assert.Contains("backlog full", exception.Message);
        Assert.True(Sent<FunctionMapRequest>(fake, "FunctionMap").Count > 1);
    }

    [Fact]
    public async Task A_refusal_from_the_server_is_not_retried()
    {
        var fake = new FakeControlPlane { FailBefore = (_, _, _) => FakeControlPlane.Status(StatusCode.InvalidArgument, "F takes 1 argument") };
        using var connection = fake.Connect(s_window, Live);

        await Assert.ThrowsAsync<InvalidInputException>(() => Backend(connection).SpawnAsync(s_function, s_noArguments, CancellationToken.None));

        Assert.Single(fake.Requests);
    }

    [Fact]
    public async Task A_server_that_stays_unreachable_surfaces_a_ConnectionException_naming_every_url_and_the_fix()
    {
        var fake = new FakeControlPlane { FailBefore = (_, _, _) => FakeControlPlane.ConnectionRefused() };
        using var connection = fake.Connect(TimeSpan.FromMilliseconds(300), Live, Dead);

        var exception = await Assert.ThrowsAsync<ConnectionException>(() => Backend(connection).SpawnAsync(s_function, s_noArguments, CancellationToken.None));

        Assert.Contains(Live, exception.Message);
        Assert.Contains(Dead, exception.Message);
        Assert.Contains("MODAL_SERVER_URL", exception.Message);
        Assert.Contains("MODAL_RETRY_WINDOW_SECONDS", exception.Message);
    }

    [Fact]
    public async Task An_upload_whose_stream_breaks_with_a_transport_exception_is_retried_not_thrown_raw()
    {
        var fake = new FakeControlPlane();
        using var connection = fake.Connect(s_window, Live);
        int attempts = 0;

        // What a client-streaming write throws when the server refuses or resets the stream: not an RpcException.
        string result = await connection.RunAsync<string>((_, _) => ++attempts switch
        {
            1 => throw new System.Net.Http.HttpProtocolException(0xb, "The HTTP/2 server reset the stream. HTTP/2 error code 'ENHANCE_YOUR_CALM' (0xb).", null),
            2 => throw new IOException("The response ended prematurely."),
            _ => Task.FromResult("stored"),
        }, CancellationToken.None);

        Assert.Equal(("stored", 3), (result, attempts));
    }

    [Fact]
    public async Task An_upload_that_keeps_breaking_in_transit_surfaces_a_ConnectionException_saying_so()
    {
        var fake = new FakeControlPlane();
        using var connection = fake.Connect(TimeSpan.FromMilliseconds(300), Live);

        var exception = await Assert.ThrowsAsync<ConnectionException>(() => connection.RunAsync<string>(
            (_, _) => throw new IOException("The response ended prematurely."), CancellationToken.None));

        Assert.Contains("the stream broke in transit (IOException: The response ended prematurely.)", exception.Message);
    }

    [Fact]
    public async Task Cancelling_the_callers_token_ends_the_retries_at_once()
    {
        var fake = new FakeControlPlane { FailBefore = (_, _, _) => FakeControlPlane.ConnectionRefused() };
        using var connection = fake.Connect(TimeSpan.FromMinutes(10), Live);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Backend(connection).SpawnAsync(s_function, s_noArguments, cancellation.Token));
    }

    [Fact]
    public async Task A_spawned_call_leaves_nothing_behind_in_the_client()
    {
        var fake = new FakeControlPlane();
        using var connection = fake.Connect(s_window, Live);
        var backend = Backend(connection);

        var ids = await SpawnAndForgetAsync(backend, 500);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // A per-call table would keep all 500 alive; the last id or two may still sit in a completed task or a
        // pooled buffer for a moment, which is not growth.
        Assert.InRange(ids.Count(id => id.IsAlive), 0, 5);
        GC.KeepAlive(backend);
    }

    [Fact]
    public async Task GetAsync_of_a_failed_spawned_call_names_its_function()
    {
        var fake = new FakeControlPlane();
        using var connection = fake.Connect(s_window, Live);
        var backend = Backend(connection, FakeControlPlane.FailingFunctionId);
        var callId = await backend.SpawnAsync(s_function, s_noArguments, CancellationToken.None);

        var exception = await Assert.ThrowsAsync<RemoteFunctionException>(() => backend.GetCallOutputAsync(callId, null, CancellationToken.None));

        Assert.Equal("Failing", exception.FunctionName);
        Assert.Equal("it failed", exception.RemoteMessage);
    }

    [Fact]
    public void Failures_in_transit_are_retried_and_answers_are_not()
    {
        static RpcException Rpc(StatusCode code, Exception? cause = null) => new(new Grpc.Core.Status(code, "x", cause));

        Assert.True(GrpcConnection.IsTransient(Rpc(StatusCode.Unavailable), CancellationToken.None));
        Assert.True(GrpcConnection.IsTransient(Rpc(StatusCode.ResourceExhausted), CancellationToken.None));
        Assert.True(GrpcConnection.IsTransient(Rpc(StatusCode.Internal, new HttpRequestException("reset", new IOException("The request was aborted."))), CancellationToken.None));
        Assert.True(GrpcConnection.IsTransient(Rpc(StatusCode.Cancelled, new HttpProtocolException(0, "GOAWAY", null)), CancellationToken.None));
        Assert.True(GrpcConnection.IsTransient(Rpc(StatusCode.DeadlineExceeded), CancellationToken.None, ownDeadline: true));
        Assert.False(GrpcConnection.IsTransient(Rpc(StatusCode.DeadlineExceeded), CancellationToken.None));
        Assert.False(GrpcConnection.IsTransient(Rpc(StatusCode.Internal), CancellationToken.None));
        Assert.False(GrpcConnection.IsTransient(Rpc(StatusCode.NotFound), CancellationToken.None));
        Assert.False(GrpcConnection.IsTransient(Rpc(StatusCode.Unauthenticated), CancellationToken.None));
        Assert.False(GrpcConnection.IsTransient(Rpc(StatusCode.Unavailable), new CancellationToken(canceled: true)));
    }

    [Fact]
    public void A_server_url_list_is_split_trimmed_normalized_and_deduplicated()
        => Assert.Equal(
            ["http://127.0.0.1:5000", "https://replica-2", "http://10.0.0.3:50051"],
            GrpcConnection.ParseServerUrls(" 127.0.0.1:5000 ,https://replica-2:443/, http://10.0.0.3:50051,http://127.0.0.1:5000"));

    [Fact]
    public void A_unix_socket_url_keeps_its_absolute_path()
        => Assert.Equal(["unix:/run/modal/control.sock", "http://127.0.0.1:5000"],
            GrpcConnection.ParseServerUrls("unix:/run/modal/control.sock, unix:///run/modal/control.sock,127.0.0.1:5000"));

    [Theory]
    [InlineData("unix:control.sock", "'unix:control.sock' names no absolute socket path")]
    [InlineData("http://127.0.0.1:5000,ftp://files:21", "'ftp://files:21' (entry 2 of 2")]
    [InlineData("http://127.0.0.1:5000,,http://127.0.0.1:5001", "empty entry (entry 2 of 3")]
    [InlineData("http://127.0.0.1:5000,", "empty entry (entry 2 of 2")]
    [InlineData("not a url", "'not a url' is not an http://")]
    public void A_bad_entry_in_a_server_url_list_is_named(string list, string expected)
    {
        var exception = Assert.Throws<ConnectionException>(() => GrpcConnection.ParseServerUrls(list));
        Assert.Contains(expected, exception.Message);
        Assert.Contains("MODAL_SERVER_URL", exception.Message);
    }

    private static async Task<List<int>> MapAsync(GrpcConnection connection, int count)
    {
        var pump = new MapPump(connection, new PayloadCodec(connection), "fn-1", "F", null);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var values = new List<int>();
        await foreach (var output in pump.RunAsync(Inputs(count), orderOutputs: true, limit.Token))
        {
            Assert.Null(output.Failure);
            Assert.Equal(output.Index, BitConverter.ToInt32(output.Value.Span));
            values.Add(output.Index);
        }
        return values;
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Inputs(int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (i % 40 == 0)
            {
                // A source that is sometimes slow, so that the pump sends several batches.
                await Task.Delay(5);
            }
            yield return BitConverter.GetBytes(i);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference[]> SpawnAndForgetAsync(GrpcBackend backend, int count)
    {
        var ids = new WeakReference[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = new WeakReference(await backend.SpawnAsync(s_function, s_noArguments, CancellationToken.None));
        }
        return ids;
    }
}
