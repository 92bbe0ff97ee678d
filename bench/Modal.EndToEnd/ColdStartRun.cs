using System.Diagnostics;

namespace Modal.EndToEnd;

/// <summary>
/// <c>--cold-start</c>: for each kind of worker, a standalone control plane with the matching launcher on a temporary
/// SQLite file, the kind's app on it (<see cref="ColdTarget"/>: this runner's, or the NativeAOT one), and then,
/// <c>--repeat</c> times plus a first reported apart: once no worker of ColdPing (<see cref="EndToEndFunctions.ColdPing"/>,
/// or its NativeAOT twin) is left, a bare start of the same kind, then one <c>RemoteAsync</c>, which launches a fresh
/// worker. The function stops its worker one second after it goes idle (ScaledownWindowSeconds = 1).
/// </summary>
internal static class ColdStartRun
{
    private static readonly TimeSpan s_scaledownTimeout = TimeSpan.FromSeconds(90);

    public static async Task<ColdStartResult> RunAsync(RunnerOptions options, DateTimeOffset startedAt)
    {
        // NativeAOT publishing takes minutes of both cores: it is done first, before the load average and any measure.
        var aot = options.Kinds.Contains(WorkerKind.PodmanAot) ? await AotBuilds.PublishAsync() : null;
        var loadBefore = EndToEndRun.LoadAverage();
        var folder = Directory.CreateTempSubdirectory("modal-bench-cold-start-").FullName;
        try
        {
            var kinds = new List<KindResult>();
            foreach (var kind in options.Kinds)
            {
                await Console.Error.WriteLineAsync($"cold start: {WorkerKinds.NameOf(kind)}, {options.Repeat} + 1 cold calls and bare starts");
                kinds.Add(await MeasureKindAsync(kind, options, aot, Path.Combine(folder, WorkerKinds.NameOf(kind) + ".db")));
            }
            return new ColdStartResult(startedAt, Environment.ProcessorCount, $".NET {Environment.Version}",
                System.Runtime.InteropServices.RuntimeInformation.OSDescription, loadBefore, EndToEndRun.LoadAverage(), options.Repeat, kinds);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<KindResult> MeasureKindAsync(WorkerKind kind, RunnerOptions options, AotBuilds? aot, string database)
    {
        // Both podman kinds run on the same launcher and base image: the NativeAOT app's image is built on it too.
        string[] launcher = WorkerKinds.InPodman(kind)
            ? ["--launcher", "podman", "--registry", options.Registry!, "--base-image", options.BaseImage!]
            : ["--launcher", "process"];
        using var bare = kind switch
        {
            WorkerKind.Process => BareStart.Process(),
            WorkerKind.Podman => BareStart.Podman(options.BaseImage!),
            _ => BareStart.PodmanAot(options.BaseImage!, aot!.HelloFolder),
        };
        await using var server = await StandaloneServer.StartReplicasAsync(database, replicas: 1, launcher);
        var appStart = Stopwatch.StartNew();
        await using var target = await ColdTarget.StartAsync(kind, aot, server.Url);
        appStart.Stop();

        var calls = new double[options.Repeat + 1];
        var bareStarts = new double[options.Repeat + 1];
        for (var i = 0; i < calls.Length; i++)
        {
            await WaitForNoWorkerAsync(target.Handle, server);
            bareStarts[i] = await bare.RunAsync();
            var started = Stopwatch.GetTimestamp();
            var answer = await target.CallAsync(i);
            calls[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (answer != i + 1)
            {
                throw new InvalidOperationException($"ColdPing({i}) returned {answer}, not {i + 1}.");
            }
        }
        // The last worker goes before the server does, so that nothing of this kind runs while the next is measured.
        await WaitForNoWorkerAsync(target.Handle, server);
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
