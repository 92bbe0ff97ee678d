using Modal;
using Modal.Integration;

// Worker: serves inputs and never returns. "get <call id>": a second client that fetches a spawned call by id.
// "deploy <name>": deploys these functions under a name and exits.
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
await using var app = await ModalApp.RunAsync(args);
_ = IntegrationFunctions.ContainerId;
return 0;
