using Modal;
using Modal.Integration;

// Worker: serves inputs and never returns. "get <call id>": a second client that fetches a spawned call by id.
if (args is ["get", var callId])
{
    await using var client = await ModalApp.RunAsync(args, new ModalAppOptions { Mode = ModalMode.Remote, AppName = "integration-second-client" });
    var value = await FunctionCall.FromId<int>(callId).GetAsync(TimeSpan.FromSeconds(30));
    Console.WriteLine($"result={value}");
    return 0;
}
await using var app = await ModalApp.RunAsync(args);
_ = IntegrationFunctions.ContainerId;
return 0;
