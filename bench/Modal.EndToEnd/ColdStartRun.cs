using System.Diagnostics;

namespace Modal.EndToEnd;

/// <summary>
/// <c>--cold-start</c>: for each kind of worker, a standalone control plane with the matching launcher on a temporary
/// SQLite file, this runner's app on it, and then, <c>--repeat</c> times plus a first reported apart: once no worker of
/// <see cref="EndToEndFunctions.ColdPing"/> is left, a bare start of the same kind, then one <c>RemoteAsync</c>, which
/// launches a fresh worker. The function stops its worker one second after it goes idle (ScaledownWindowSeconds = 1).
/// </summary>
internal static class ColdStartRun
{
    private static readonly TimeSpan s_scaledownTimeout = TimeSpan.FromSeconds(90);

    public static async Task<ColdStartResult> RunAsync(RunnerOptions options, DateTimeOffset startedAt)
    {
        var loadBefore = EndToEndRun.LoadAverage();
        var folder = Directory.CreateTempSubdirectory("modal-bench-cold-start-").FullName;
        try
        {
            var kinds = new List<KindResult>();
            foreach (var kind in options.Kinds)
            {
                await Console.Error.WriteLineAsync($"cold start: {WorkerKinds.NameOf(kind)}, {options.Repeat} + 1 cold calls and bare starts");
                kinds.Add(await MeasureKindAsync(kind, options, Path.Combine(folder, WorkerKinds.NameOf(kind) + ".db")));
            }
            return new ColdStartResult(startedAt, Environment.ProcessorCount, $".NET {Environment.Version}",
                System.Runtime.InteropServices.RuntimeInformation.OSDescription, loadBefore, EndToEndRun.LoadAverage(), options.Repeat, kinds);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<KindResult> MeasureKindAsync(WorkerKind kind, RunnerOptions options, string database)
    {
        // SLOT(aot): PodmanAot takes the podman launcher's arguments with the NativeAOT app's image, and a bare start of a
        // NativeAOT hello (bench/Modal.Hello published with PublishAot, run as /app/hello without dotnet) in the same podman run.
        string[] launcher = kind switch
        {
            WorkerKind.Process => ["--launcher", "process"],
            WorkerKind.Podman => ["--launcher", "podman", "--registry", options.Registry!, "--base-image", options.BaseImage!],
            _ => throw new NotSupportedException($"The {WorkerKinds.NameOf(kind)} kind cannot be measured yet."),
        };
        using var bare = kind == WorkerKind.Process ? BareStart.Process() : BareStart.Podman(options.BaseImage!);
        await using var server = await StandaloneServer.StartReplicasAsync(database, replicas: 1, launcher);
        var appStart = Stopwatch.StartNew();
        // With podman, the control plane builds the app's worker image here (buildah, from the uploaded build output).
        await using var app = await ModalApp.RunAsync([], new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = server.Url });
        appStart.Stop();

        var handle = EndToEndFunctions.Functions.ColdPing;
        var calls = new double[options.Repeat + 1];
        var bareStarts = new double[options.Repeat + 1];
        for (var i = 0; i < calls.Length; i++)
        {
            await WaitForNoWorkerAsync(handle, server);
            bareStarts[i] = await bare.RunAsync();
            var started = Stopwatch.GetTimestamp();
            var answer = await handle.RemoteAsync(i);
            calls[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (answer != i + 1)
            {
                throw new InvalidOperationException($"ColdPing({i}) returned {answer}, not {i + 1}.");
            }
        }
        // The last worker goes before the server does, so that nothing of this kind runs while the next is measured.
        await WaitForNoWorkerAsync(handle, server);
        return new KindResult(kind, bare.Description, appStart.Elapsed.TotalMilliseconds, StartTimes.From(calls), StartTimes.From(bareStarts));
    }

    /// <summary>
    /// Waits until the control plane counts no worker of the function and none of the processes it started still runs (a
    /// worker process, or the <c>podman run</c> of a container, which exits once its container is removed).
    /// </summary>
    private static async Task WaitForNoWorkerAsync(Function handle, StandaloneServer.Replicas server)
    {
        var deadline = Stopwatch.StartNew();
        while ((await handle.GetCurrentStatsAsync()).NumTotalRunners > 0 || server.ChildProcessCount() > 0)
        {
            if (deadline.Elapsed > s_scaledownTimeout)
            {
                throw new TimeoutException(
                    $"The worker of ColdPing was still running {s_scaledownTimeout.TotalSeconds:0} s after its call, with a scaledown window of 1 s.");
            }
            await Task.Delay(100);
        }
    }
}
