using Modal;
using Modal.EndToEnd;

// First of all: in a worker process (the control plane launches this executable, with no arguments) RunAsync serves
// inputs and never returns, so nothing below it runs there. On a bad command line the app still starts, cheaply in
// process, so that a worker is never turned away by argument parsing.
var options = RunnerOptions.Parse(args, out var error);
if (options is { Json: true })
{
    // Standard output carries the JSON alone (written to the stream itself below); anything else written to the
    // console, such as an embedded control plane's log lines, goes to standard error.
    Console.SetOut(Console.Error);
}
// --db: the standalone control plane, in its own process, before the app that connects to it (and not in its start time).
await using var server = options is { Database: { } database, EchoOnly: false } ? await StandaloneServer.StartReplicasAsync(database, options.Replicas) : null;
var startedAt = DateTimeOffset.UtcNow;
var memory = MemorySampler.Start();
var startup = System.Diagnostics.Stopwatch.StartNew();
// --echo-only measures no app, so it starts the cheap one; so does --cold-start, which runs its own apps later.
await using var app = await ModalApp.RunAsync(args, new ModalAppOptions
{
    Mode = options is { EchoOnly: false, ColdStart: false } ? options.Mode : ModalMode.InProcess,
    ServerUrl = server?.Url,
});
startup.Stop();
if (options is null)
{
    await Console.Error.WriteLineAsync($"{error}{Environment.NewLine}{RunnerOptions.Usage}");
    return 2;
}
if (options.ColdStart)
{
    // One app runs at a time in a process: this one goes, and each kind's app runs on that kind's control plane.
    await app.DisposeAsync();
    await memory.DisposeAsync();
    var coldStart = await ColdStartRun.RunAsync(options, startedAt);
    ColdStartReport.WriteTable(coldStart, options.Json ? Console.Error : Console.Out);
    if (options.Json)
    {
        ColdStartReport.WriteJson(coldStart, Console.OpenStandardOutput());
    }
    return 0;
}
if (options.EchoOnly)
{
    await memory.DisposeAsync();
    var floor = await EndToEndRun.RunEchoOnlyAsync(options, startedAt);
    Report.WriteTable(floor, options.Json ? Console.Error : Console.Out);
    if (options.Json)
    {
        Report.WriteJson(floor, Console.OpenStandardOutput());
    }
    return 0;
}

var result = await EndToEndRun.RunAsync(app, options, startedAt, startup.Elapsed, memory);
await memory.DisposeAsync();
Report.WriteTable(result, options.Json ? Console.Error : Console.Out);
if (options.Json)
{
    Report.WriteJson(result, Console.OpenStandardOutput());
}
return 0;
