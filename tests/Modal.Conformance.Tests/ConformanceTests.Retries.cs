namespace Modal.Conformance.Tests;

/// <summary>Retries, backoff and timeouts, observed through the attempt start times the functions record.</summary>
public abstract partial class ConformanceTests<TFixture>
{
    private static TimeSpan Between(long startTicks, long endTicks) => TimeSpan.FromTicks(endTicks - startTicks);

    [Fact]
    public async Task Retries_wait_the_backoff_before_each_retry()
    {
        // BackoffProbe: InitialDelayMs = 200, BackoffCoefficient = 2: 200 ms before the 2nd attempt, 400 ms before the 3rd.
        var attempts = await TestFunctions.Functions.BackoffProbe.RemoteAsync(NewTempDirectory(), 2);
        Assert.Equal(3, attempts.Length);
        Assert.True(Between(attempts[0], attempts[1]) >= TimeSpan.FromMilliseconds(190), $"first backoff {Between(attempts[0], attempts[1])}");
        Assert.True(Between(attempts[1], attempts[2]) >= TimeSpan.FromMilliseconds(390), $"second backoff {Between(attempts[1], attempts[2])}");
        // 600 ms in all; timers may fire a millisecond or so early, hence the small tolerance on every bound.
        Assert.True(Between(attempts[0], attempts[2]) >= TimeSpan.FromMilliseconds(590), $"both backoffs {Between(attempts[0], attempts[2])}");
    }

    [Fact]
    public async Task An_input_waiting_out_its_backoff_does_not_hold_the_only_container()
    {
        // SlowRetry: MaxContainers = 1, a 1.5 s backoff. The healthy input arrives while the failing one waits to retry.
        var failingDirectory = NewTempDirectory();
        var failing = await TestFunctions.Functions.SlowRetry.SpawnAsync(failingDirectory, 1);
        Assert.True(await EventuallyAsync(() => Task.FromResult(File.Exists(Path.Combine(failingDirectory, "attempts")))),
            "the failing input never started");
        var healthy = await TestFunctions.Functions.SlowRetry.SpawnAsync(NewTempDirectory(), 0);
        long healthyStart = Assert.Single(await healthy.GetAsync());
        var failingAttempts = await failing.GetAsync();
        Assert.Equal(2, failingAttempts.Length);
        Assert.True(healthyStart < failingAttempts[1],
            $"the healthy input started {Between(failingAttempts[1], healthyStart)} after the retry: it waited behind the backoff");
    }

    [Fact]
    public async Task A_timed_out_attempt_is_retried_per_the_retry_policy()
    {
        // TimesOutOnce: TimeoutSeconds = 1, MaxRetries = 1. Modal: "after exhausting any specified retries, a timeout
        // ... will produce a FunctionTimeoutError"; each attempt has its own timeout.
        // The first attempt waits on its token forever: only its timeout can end it, and the caller still gets the
        // second attempt's result instead of a FunctionTimeoutException.
        var attempts = await TestFunctions.Functions.TimesOutOnce.RemoteAsync(NewTempDirectory());
        Assert.Equal(2, attempts.Length);
        Assert.True(attempts[0] < attempts[1], "the second attempt started after the first");
    }

    [Fact]
    public async Task A_cancelled_input_is_not_retried()
    {
        var directory = NewTempDirectory();
        var attemptsFile = Path.Combine(directory, "attempts");
        var call = await TestFunctions.Functions.SlowRetry.SpawnAsync(directory, 2); // fails, then waits 1.5 s to retry
        Assert.True(await EventuallyAsync(() => Task.FromResult(File.Exists(attemptsFile))), "the input never started");
        await call.CancelAsync();
        await Assert.ThrowsAsync<InputCancelledException>(() => call.GetAsync());
        Assert.Equal(InputStatus.Terminated, Assert.Single(await call.GetCallGraphAsync()).Status);
        await Task.Delay(TimeSpan.FromSeconds(2)); // past the backoff: a retry would have started by now
        Assert.Single(await File.ReadAllLinesAsync(attemptsFile));
    }

    [Fact]
    public async Task Caller_cancellation_cancels_the_function_token()
    {
        var path = Path.Combine(NewTempDirectory(), "state");
        using var cancellation = new CancellationTokenSource();
        var running = TestFunctions.Functions.AwaitCancellation.RemoteAsync(path, cancellation.Token);
        Assert.True(await EventuallyAsync(() => Task.FromResult(File.Exists(path))), "the function never started");
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        Assert.True(await EventuallyAsync(async () => await ReadSharedAsync(path) == "cancelled"),
            "the function's cancellation token was not cancelled");
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        try
        {
            return await File.ReadAllTextAsync(path);
        }
        catch (IOException)
        {
            return string.Empty; // being written
        }
    }
}
