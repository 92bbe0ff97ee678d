using System.Diagnostics;
using Modal.Integration;

namespace Modal.Integration.Tests;

/// <summary>Real worker processes behind a real control plane process: failures, limits and scaling seen from outside.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class WorkerProcessTests(IntegrationFixture fixture)
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(30);

    private static string NewTempDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "modal-integration", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    private static async Task<T> WithinAsync<T>(Task<T> task, TimeSpan limit, string what)
    {
        var finished = await Task.WhenAny(task, Task.Delay(limit));
        Assert.True(finished == task, $"{what} did not happen within {limit.TotalSeconds} s.");
        return await task;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="limit"/> passes.</summary>
    internal static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(100);
        }
        return await condition();
    }

    [Fact]
    public async Task A_worker_killed_mid_input_has_its_input_completed_by_another_container_and_delivered_once()
    {
        var markers = NewTempDirectory();
        var call = await IntegrationFunctions.Functions.SurviveKill.SpawnAsync(markers);

        Assert.True(await EventuallyAsync(() => Task.FromResult(Directory.GetFiles(markers, "*.pid").Length > 0), s_patience), "The first attempt never started.");
        var marker = Directory.GetFiles(markers, "*.pid").Single();
        var killedContainer = await File.ReadAllTextAsync(marker);
        using (var worker = Process.GetProcessById(HostProcessOf(killedContainer)))
        {
            worker.Kill(); // SIGKILL: no chance to report anything
        }

        var result = await call.GetAsync(s_patience);

        Assert.NotEqual(killedContainer, result);
        Assert.Equal(2, Directory.GetFiles(markers, "*.pid").Length);
        var graph = await call.GetCallGraphAsync();
        var input = Assert.Single(graph);
        Assert.Equal(InputStatus.Success, input.Status);
        Assert.Equal(result, await call.GetAsync(TimeSpan.Zero));
    }

    [Fact]
    public async Task A_timed_out_input_raises_FunctionTimeoutException_and_its_container_is_replaced()
    {
        var before = await IntegrationFunctions.Functions.SleepIgnoringToken.RemoteAsync(0);

        await WithinAsync(
            Assert.ThrowsAsync<FunctionTimeoutException>(() => IntegrationFunctions.Functions.SleepIgnoringToken.RemoteAsync(60_000)),
            s_patience, "The timeout");
        var after = await WithinAsync(IntegrationFunctions.Functions.SleepIgnoringToken.RemoteAsync(0), s_patience, "A call after the timeout");

        Assert.NotEqual(before, after);
    }

    [Fact]
    public async Task CancelAsync_ends_a_running_input_within_seconds()
    {
        var marker = Path.Combine(NewTempDirectory(), "started");
        var call = await IntegrationFunctions.Functions.WaitUntilCancelled.SpawnAsync(marker);
        Assert.True(await EventuallyAsync(() => Task.FromResult(File.Exists(marker)), s_patience), "The input never started.");

        await call.CancelAsync();

        await WithinAsync(Assert.ThrowsAsync<InputCancelledException>(() => call.GetAsync()), TimeSpan.FromSeconds(10), "The cancellation");
        var graph = await call.GetCallGraphAsync();
        Assert.Equal(InputStatus.Terminated, Assert.Single(graph).Status);
    }

    [Fact]
    public async Task Cancelling_a_RemoteAsync_token_cancels_the_remote_input()
    {
        var marker = Path.Combine(NewTempDirectory(), "started");
        using var cancellation = new CancellationTokenSource();
        var call = IntegrationFunctions.Functions.WaitUntilCancelled.RemoteAsync(marker, cancellation.Token);
        Assert.True(await EventuallyAsync(() => Task.FromResult(File.Exists(marker)), s_patience), "The input never started.");

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.True(await EventuallyAsync(() => Task.FromResult(File.Exists(marker + ".cancelled")), TimeSpan.FromSeconds(10)),
            "The remote input's token was not cancelled.");
    }

    [Fact]
    public async Task A_map_reads_its_inputs_no_further_ahead_than_the_outstanding_bound()
    {
        var pulled = 0;
        async IAsyncEnumerable<int> Inputs()
        {
            for (var i = 0; i < 20_000; i++)
            {
                Interlocked.Increment(ref pulled);
                await Task.Yield();
                yield return 0;
            }
        }

        await using (var outputs = IntegrationFunctions.Functions.WhichContainer.Map(Inputs()).GetAsyncEnumerator())
        {
            Assert.True(await outputs.MoveNextAsync());
            // The consumer stalls: the pump may fill its window of outstanding inputs, and no more.
            Assert.True(await EventuallyAsync(() => Task.FromResult(Volatile.Read(ref pulled) >= MapPump.MaxOutstanding), s_patience));
            await Task.Delay(500);
            Assert.InRange(Volatile.Read(ref pulled), MapPump.MaxOutstanding, MapPump.MaxOutstanding + 2);
        }
    }

    [Fact]
    public async Task MaxContainers_holds_during_a_1000_input_map()
    {
        var function = IntegrationFunctions.Functions.WhichContainer;
        using var sampling = new CancellationTokenSource();
        var mostRunners = 0;
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                var stats = await function.GetCurrentStatsAsync();
                mostRunners = Math.Max(mostRunners, stats.NumTotalRunners);
                await Task.Delay(50);
            }
        });

        var containers = new List<string>();
        await foreach (var container in function.Map(Enumerable.Repeat(5, 1000)))
        {
            containers.Add(container);
        }
        await sampling.CancelAsync();
        await sampler;

        Assert.Equal(1000, containers.Count);
        Assert.InRange(containers.Distinct().Count(), 1, 2);
        Assert.InRange(mostRunners, 0, 2);
    }

    [Fact]
    public async Task Containers_scale_to_zero_after_the_scaledown_window()
    {
        var function = IntegrationFunctions.Functions.ShortLived;
        Assert.StartsWith("7:", await function.RemoteAsync(7));

        Assert.True(
            await EventuallyAsync(async () => (await function.GetCurrentStatsAsync()).NumTotalRunners == 0, s_patience),
            "The idle container was still running long after its two-second scaledown window.");
    }

    [Fact]
    public async Task A_50_MiB_argument_round_trips()
    {
        var data = new byte[50 * 1024 * 1024];
        new Random(42).NextBytes(data);

        var echoed = await IntegrationFunctions.Functions.EchoBytes.RemoteAsync(data);

        Assert.Equal(data.Length, echoed.Length);
        Assert.True(data.AsSpan().SequenceEqual(echoed));
    }

    [Fact]
    public async Task A_spawned_call_is_fetched_by_id_from_a_second_process()
    {
        var call = await IntegrationFunctions.Functions.SlowAdd.SpawnAsync(20, 22);

        var output = await RunSecondProcessAsync("get", call.ObjectId);

        Assert.Contains("result=42", output);
    }

    [Fact]
    public async Task A_deployed_app_is_reachable_by_name_after_the_deploying_process_exits()
    {
        var name = "deployed-" + Guid.NewGuid().ToString("N")[..8];

        Assert.Contains($"deployed={name}", await RunSecondProcessAsync("deploy", name));

        var echoed = await Function.FromName(name, "EchoBytes").RemoteAsync<byte[]>(new byte[49]);
        Assert.Equal(49, echoed.Length);
        Assert.StartsWith("5:", await IntegrationFunctions.Functions.ShortLived.WithApp(name).RemoteAsync(5));
        await Assert.ThrowsAsync<NotFoundException>(() => Function.FromName(name, "NoSuchFunction").RemoteAsync<int>(1));
    }

    /// <summary>
    /// The host's id of the worker process of a container (found by its MODAL_CONTAINER_ID in /proc): inside its sandbox a
    /// worker has process ids of its own. The worker itself, not the bubblewrap process that started it.
    /// </summary>
    private static int HostProcessOf(string containerId)
    {
        var wanted = System.Text.Encoding.UTF8.GetBytes($"MODAL_CONTAINER_ID={containerId}\0");
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }
            try
            {
                var environment = File.ReadAllBytes(Path.Combine(directory, "environ"));
                var command = File.ReadAllText(Path.Combine(directory, "cmdline"));
                if (environment.AsSpan().IndexOf(wanted) >= 0 && !command.StartsWith("bwrap", StringComparison.Ordinal)
                    && !command.Contains("/bwrap\0", StringComparison.Ordinal))
                {
                    return pid;
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }
        throw new InvalidOperationException($"No process of container {containerId} was found.");
    }

    /// <summary>Runs the functions executable as another client of the same control plane and returns its output.</summary>
    private Task<string> RunSecondProcessAsync(params string[] arguments) => ClientProcess.RunAsync(fixture.Server.Url, s_patience, null, arguments);

    [Fact]
    public async Task Function_output_reaches_the_callers_console_prefixed_with_the_function_name()
    {
        var original = Console.Out;
        var originalError = Console.Error;
        var captured = new StringWriter();
        var capturedError = new StringWriter();
        Console.SetOut(TextWriter.Synchronized(captured));
        Console.SetError(TextWriter.Synchronized(capturedError));
        try
        {
            Assert.Equal(3, await IntegrationFunctions.Functions.Chatty.RemoteAsync(3));
            Assert.True(
                await EventuallyAsync(() => Task.FromResult(
                    captured.ToString().Contains("[Chatty] line 2 to stdout", StringComparison.Ordinal)
                    && capturedError.ToString().Contains("[Chatty] line 2 to stderr", StringComparison.Ordinal)), s_patience),
                $"Console output was: {captured}\nError output was: {capturedError}");
        }
        finally
        {
            Console.SetOut(original);
            Console.SetError(originalError);
        }
    }
}
