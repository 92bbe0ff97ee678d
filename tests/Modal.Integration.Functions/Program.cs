using Modal;
using Modal.Integration;

// Worker: serves inputs and never returns. "get <call id>": a second client that fetches a spawned call by id.
// "deploy <name>": deploys these functions under a name and exits. "map <count> [embedded]": maps SlowIdentity over 0..count-1.
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
await using var app = await ModalApp.RunAsync(args);
_ = IntegrationFunctions.ContainerId;
return 0;
