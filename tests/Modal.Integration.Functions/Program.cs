using Modal;
using Modal.Integration;

// Worker: serves inputs and never returns. "get <call id>": a second client that fetches a spawned call by id.
// "deploy <name>": deploys these functions under a name and exits. "map <count> [embedded]": maps SlowIdentity over 0..count-1.
// "spawn-map <app> <count>": spawns a map of Triple over 0..count-1 on the deployed app, prints its id and exits at once.
// "iterate <map call id> <count>": reads every result of that map in input order and prints what it found.
if (args is ["get", var callId])
{
    await using var client = await ModalApp.RunAsync(args, new ModalAppOptions { Mode = ModalMode.Remote, AppName = "integration-second-client" });
    var value = await FunctionCall.FromId<int>(callId).GetAsync(TimeSpan.FromSeconds(30));
    Console.WriteLine($"result={value}");
    return 0;
}
if (args is ["deploy", var deployName])
{
    await using var deployed = await ModalApp.DeployAsync(deployName, new ModalAppOptions { Mode = ModalMode.Remote });
    Console.WriteLine($"deployed={deployed.Name}");
    return 0;
}
if (args is ["map", var countText, .. var where] && int.TryParse(countText, out int count))
{
    // `modal run` tests: a map long enough to show progress, on the control plane the tool names or ("embedded") on one of its own.
    var mode = where is ["embedded"] ? ModalMode.Embedded : ModalMode.Remote;
    await using var mapping = await ModalApp.RunAsync([], new ModalAppOptions { Mode = mode });
    long sum = 0;
    await foreach (int value in IntegrationFunctions.Functions.SlowIdentity.Map(Enumerable.Range(0, count)))
    {
        sum += value;
    }
    Console.WriteLine($"mapped={count} sum={sum}");
    return 0;
}
if (args is ["spawn-map", var appName, var inputsText] && int.TryParse(inputsText, out int inputs))
{
    await using var caller = await ModalApp.RunAsync([], new ModalAppOptions { Mode = ModalMode.Remote, AppName = "integration-spawner" });
    var started = System.Diagnostics.Stopwatch.StartNew();
    // The last input is slow: the map runs on after this process exits.
    var spawned = await IntegrationFunctions.Functions.Triple.WithApp(appName).SpawnMapAsync(Enumerable.Range(0, inputs), Enumerable.Repeat(inputs - 1, inputs));
    Console.WriteLine($"call={spawned.ObjectId} sent={inputs} seconds={started.Elapsed.TotalSeconds:F1}");
    return 0;
}
if (args is ["iterate", var mapCallId, var expectedText] && int.TryParse(expectedText, out int expected))
{
    await using var reader = await ModalApp.RunAsync([], new ModalAppOptions { Mode = ModalMode.Remote, AppName = "integration-reader" });
    var started = System.Diagnostics.Stopwatch.StartNew();
    var map = MapCall.FromId<long>(mapCallId);
    int inputCount = await map.NumInputsAsync();
    bool pendingAtStart;
    try
    {
        await map.GetAsync(expected - 1, TimeSpan.FromSeconds(1.5));
        pendingAtStart = false;
    }
    catch (TimeoutException)
    {
        pendingAtStart = true; // the spawning process has exited and its map goes on
    }
    int next = 0;
    long sum = 0;
    await foreach (var result in map.IterateAsync())
    {
        if (result.Index != next || result.Value != 3L * next)
        {
            Console.WriteLine($"out-of-order: expected index {next} = {3L * next}, got index {result.Index} = {(result.IsSuccess ? result.Value : result.Exception)}");
            return 1;
        }
        sum += result.Value;
        next++;
    }
    Console.WriteLine($"inputs={inputCount} iterated={next} in-order sum={sum} pending-at-start={pendingAtStart} seconds={started.Elapsed.TotalSeconds:F1}");
    return 0;
}
await using var app = await ModalApp.RunAsync(args);
_ = IntegrationFunctions.ContainerId;
return 0;
