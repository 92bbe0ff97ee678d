using System.Runtime.CompilerServices;
using Grpc.Core;
using Modal.Api;

namespace Modal;

/// <summary>
/// The container entrypoint loop, run by <c>ModalApp.RunAsync</c> in a process the launcher started
/// (<c>MODAL_WORKER=1</c>): says hello, asks for inputs with credits for its free slots, runs them through the
/// generated entrypoint, reports outputs in batches, heartbeats, ships its console output, and exits when the
/// control plane ends the input stream or asks it to stop. It never returns to the caller's code. A restart or
/// failover of the control plane is ridden through for the retry window (<c>MODAL_RETRY_WINDOW_SECONDS</c>, 60 s by
/// default): every RPC retries, a broken input stream is reopened and granted the free slots again, and outputs not
/// acknowledged are sent again (the control plane drops duplicates by attempt).
/// </summary>
internal sealed class WorkerHost
{
    /// <summary>The environment variable the launcher sets in worker processes.</summary>
    public const string WorkerVariable = "MODAL_WORKER";

    /// <summary>The stop reason of a routine stop that the control plane asked for.</summary>
    public const string StopRequested = "the control plane asked the container to stop";

    private static readonly TimeSpan s_drainLimit = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_timeoutGrace = TimeSpan.FromSeconds(1);

    private readonly GrpcConnection _connection;
    private readonly string _containerId;
    private readonly TextWriter _diagnostics;
    private readonly CancellationTokenSource _stop = new();
    private string? _stopReason;

    private WorkerHost(GrpcConnection connection, string containerId, TextWriter diagnostics)
    {
        _connection = connection;
        _containerId = containerId;
        _diagnostics = diagnostics;
    }

    /// <summary>True in a process the launcher started as a worker.</summary>
    public static bool IsWorkerProcess
        => Environment.GetEnvironmentVariable(WorkerVariable) is { Length: > 0 } value && value != "0" && !value.Equals("false", StringComparison.OrdinalIgnoreCase);

    /// <summary>Serves inputs until told to stop, then exits the process.</summary>
    public static async Task RunAndExitAsync()
    {
        int exitCode;
        try
        {
            exitCode = await RunAsync().ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            await Console.Error.WriteLineAsync($"modal worker: failed: {exception}").ConfigureAwait(false);
            exitCode = 1;
        }
        Environment.Exit(exitCode);
    }

    /// <summary>Serves inputs until told to stop; returns the process exit code.</summary>
    public static async Task<int> RunAsync()
    {
        var serverUrl = Require("MODAL_SERVER_URL");
        var containerId = Require("MODAL_CONTAINER_ID");
        var containerToken = Require("MODAL_CONTAINER_TOKEN");
        using var connection = GrpcConnection.ForContainer(
            serverUrl, containerId, containerToken,
            Environment.GetEnvironmentVariable("MODAL_TOKEN_ID"), Environment.GetEnvironmentVariable("MODAL_TOKEN_SECRET"),
            Hosting.BackendFactory.RetryWindow(new ModalAppOptions()));
        var host = new WorkerHost(connection, containerId, Console.Error);
        return await host.ServeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Tells the control plane why this worker cannot start, so that callers get that reason (InitFailure after 3 such
    /// workers in a row) rather than a bare exit code. Best effort: the exit that follows is counted either way.
    /// </summary>
    private async Task ReportStartupErrorAsync(string reason)
    {
        try
        {
            await _connection.CallAsync(
                (e, o) => e.Worker.ContainerHelloAsync(
                    new ContainerHelloRequest { ContainerId = _containerId, ProcessId = Environment.ProcessId, StartupError = reason }, o),
                CancellationToken.None, deadline: TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RpcException or ModalException)
        {
            await _diagnostics.WriteLineAsync($"modal worker: could not report the startup error: {exception.Message}").ConfigureAwait(false);
        }
    }

    private async Task<int> ServeAsync()
    {
        // A [Cls] container has started only once its instance is created and entered: until then its hello says it initializes.
        bool initializing = Environment.GetEnvironmentVariable("MODAL_FUNCTION_NAME") is { Length: > 0 } launchedFor
            && FunctionEntrypoints.All.Any(e => e.FindCls(launchedFor) is not null);
        var hello = await _connection.CallAsync(
            (e, o) => e.Worker.ContainerHelloAsync(
                new ContainerHelloRequest { ContainerId = _containerId, ProcessId = Environment.ProcessId, Initializing = initializing }, o),
            CancellationToken.None, deadline: TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        var spec = hello.Function;
        // EntrypointsOf also finds this executable's functions when the caller renamed the app (ModalAppOptions.AppName).
        var entrypoint = Hosting.AppIdentity.EntrypointsOf(hello.AppName).FirstOrDefault(e => e.Functions.Any(f => f.Name == spec.Name));
        if (entrypoint is null)
        {
            var known = string.Join(", ", FunctionEntrypoints.All.SelectMany(e => e.Functions).Select(f => f.Name));
            string missing = $"this executable has no function named '{spec.Name}' (it has: {(known.Length == 0 ? "none" : known)}). " +
                "The app's launch spec must run the assembly that declares the function.";
            await _diagnostics.WriteLineAsync($"modal worker: {missing}").ConfigureAwait(false);
            await ReportStartupErrorAsync(missing).ConfigureAwait(false);
            return 2;
        }

        Hosting.ModalLog.ContainerStarted(_containerId, hello.AppName, spec.Name);
        var capture = ConsoleCapture.Install(_connection, spec.Name, _containerId);
        var diagnostics = capture.OriginalError;
        var codec = new PayloadCodec(_connection);
        var outputs = new OutputBatcher(_connection, diagnostics);
        var cls = entrypoint.FindCls(spec.Name);
        var instance = new StrongBox<IClsInstance?>();
        InputRunner? runner = null;
        runner = new InputRunner(entrypoint, spec, _connection, codec, outputs, inputId => _ = StopIfStuckAsync(runner!, inputId), () => instance.Value);
        var backend = new GrpcBackend(_connection, hello.AppName, null, entrypoint.Functions, hello.AppVersion);
        using var installation = ModalBackend.Install(backend);
        var slots = Math.Max(1, spec.MaxInputs);
        var utilization = new SlotUtilization(slots, _connection.Time);
        var heartbeat = new HeartbeatLoop(_connection, runner.ActiveInputs, utilization.TakeMeasure, runner.Terminate, RequestStop);
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeatTask = Task.Run(() => heartbeat.RunAsync(heartbeatStop.Token));

        var running = new List<Task>();
        var exitCode = 0;
        try
        {
            if (cls is not null)
            {
                // Entered with the heartbeat running, so that a long [Enter] (loading a model) keeps the container's lease.
                instance.Value = await StartClsAsync(cls, hello.Parameters.Memory, diagnostics).ConfigureAwait(false);
                if (instance.Value is null)
                {
                    await heartbeatStop.CancelAsync().ConfigureAwait(false);
                    await heartbeatTask.ConfigureAwait(false);
                    await capture.FlushAsync(s_drainLimit).ConfigureAwait(false);
                    return 3;
                }
            }
            await ReceiveInputsAsync(runner, slots, utilization, running).ConfigureAwait(false);
        }
        catch (RpcException exception) when (!_stop.IsCancellationRequested)
        {
            await diagnostics.WriteLineAsync($"modal worker: the input stream broke: {exception.Status}").ConfigureAwait(false);
            exitCode = 1;
        }
        catch (ModalException exception) when (!_stop.IsCancellationRequested)
        {
            // The retry window is spent: the control plane has been unreachable for too long.
            await diagnostics.WriteLineAsync($"modal worker: the input stream could not be reopened: {exception.Message}").ConfigureAwait(false);
            exitCode = 1;
        }
        catch (Exception exception) when (exception is OperationCanceledException or RpcException && _stop.IsCancellationRequested)
        {
            // A stop this container was asked for.
        }

        // Let the inputs in flight finish (their deadlines bound them), unless a timed-out input is stuck.
        var drain = Task.WhenAll(running);
        var limit = _stopReason?.StartsWith("timeout", StringComparison.Ordinal) == true ? s_timeoutGrace : Timeout.InfiniteTimeSpan;
        await Task.WhenAny(drain, Task.Delay(limit)).ConfigureAwait(false);
        if (instance.Value is { } entered && drain.IsCompleted)
        {
            await ExitClsAsync(entered, diagnostics).ConfigureAwait(false);
        }
        await heartbeatStop.CancelAsync().ConfigureAwait(false);
        await heartbeatTask.ConfigureAwait(false);
        await outputs.FlushAsync(s_drainLimit).ConfigureAwait(false);
        await capture.FlushAsync(s_drainLimit).ConfigureAwait(false);
        if (_stopReason is { } reason && reason != StopRequested)
        {
            // Routine stops (scaledown) stay quiet: the process's stderr reaches the caller's console.
            await diagnostics.WriteLineAsync($"modal worker: container {_containerId} stops: {reason}.").ConfigureAwait(false);
        }
        return exitCode;
    }

    /// <summary>
    /// Creates the container's instance of a [Cls] parameter set and runs its [Enter], then tells the control plane the
    /// container has started; when either throws, reports the exception as the startup error (InitFailure after 3 in a
    /// row) and returns null.
    /// </summary>
    private async Task<IClsInstance?> StartClsAsync(IClsEntrypoint cls, ReadOnlyMemory<byte> parameters, TextWriter diagnostics)
    {
        IClsInstance instance;
        try
        {
            instance = cls.CreateInstance(parameters);
            await instance.EnterAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            string reason = ClsStartup.Describe(cls.Definition, exception);
            await diagnostics.WriteLineAsync($"modal worker: {reason}").ConfigureAwait(false);
            await ReportStartupErrorAsync(reason).ConfigureAwait(false);
            return null;
        }
        await _connection.CallAsync(
            (e, o) => e.Worker.ContainerHelloAsync(new ContainerHelloRequest { ContainerId = _containerId, ProcessId = Environment.ProcessId }, o),
            CancellationToken.None, deadline: TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        return instance;
    }

    /// <summary>Runs a [Cls] instance's [Exit] once its inputs have ended; what it throws goes to stderr, bounded in time.</summary>
    private static async Task ExitClsAsync(IClsInstance instance, TextWriter diagnostics)
    {
        try
        {
            using var limit = new CancellationTokenSource(s_drainLimit);
            await instance.ExitAsync(limit.Token).WaitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            await diagnostics.WriteLineAsync($"modal worker: [Exit] threw {exception.GetType().FullName}: {exception.Message}").ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Receives assignments until the control plane ends the stream (the container should stop). A stream that breaks
    /// in transit is reopened (on the next replica that answers, with backoff) and granted the slots free then; the
    /// retry window restarts whenever a stream delivers.
    /// </summary>
    private async Task ReceiveInputsAsync(InputRunner runner, int slots, SlotUtilization utilization, List<Task> running)
    {
        var credits = new InputCredits(slots);
        var retry = _connection.NewRetry();
        try
        {
            while (true)
            {
                var endpoint = _connection.NextEndpoint();
                using var call = endpoint.Worker.FunctionGetInputs(_connection.Options(_stop.Token));
                var granting = credits.GrantOnAsync(call.RequestStream, _stop.Token);
                try
                {
                    while (await call.ResponseStream.MoveNext(_stop.Token).ConfigureAwait(false))
                    {
                        endpoint.MarkHealthy();
                        retry.Reset();
                        var assignment = call.ResponseStream.Current;
                        credits.Take();
                        utilization.Started();
                        var task = Task.Run(async () =>
                        {
                            try
                            {
                                await runner.RunAsync(assignment).ConfigureAwait(false);
                            }
                            finally
                            {
                                utilization.Ended();
                                credits.Release();
                            }
                        });
                        lock (running)
                        {
                            running.RemoveAll(t => t.IsCompleted);
                            running.Add(task);
                        }
                    }
                    return;
                }
                catch (RpcException exception) when (!_stop.IsCancellationRequested && GrpcConnection.IsTransient(exception, _stop.Token))
                {
                    if (retry.Failures == 0)
                    {
                        await _diagnostics.WriteLineAsync(
                            $"modal worker: the input stream from {endpoint.Url} broke ({exception.Status.Detail}); reopening it").ConfigureAwait(false);
                    }
                    await retry.WaitAsync(exception, endpoint, _stop.Token).ConfigureAwait(false);
                }
                finally
                {
                    credits.Close();
                    call.Dispose();
                    await granting.ConfigureAwait(false);
                }
            }
        }
        finally
        {
            credits.Close();
        }
    }

    /// <summary>
    /// A timed-out input has had its token cancelled and its Timeout reported; code that does not stop within a
    /// grace period holds a slot for ever, so the container stops and the control plane replaces it.
    /// </summary>
    private async Task StopIfStuckAsync(InputRunner runner, string inputId)
    {
        await Task.Delay(s_timeoutGrace).ConfigureAwait(false);
        if (runner.IsRunning(inputId))
        {
            RequestStop($"timeout: input {inputId} ran past its deadline and did not stop when cancelled; the container is replaced");
        }
    }

    private void RequestStop(string reason)
    {
        if (Interlocked.CompareExchange(ref _stopReason, reason, null) is null)
        {
            _stop.Cancel();
        }
    }

    private static string Require(string variable)
        => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set. Worker processes are started by the Modal control plane, which sets it.");
}
