using Modal;

// Worker: serves inputs and never returns. "deploy <name>": deploys these functions under a name and exits.
if (args is ["deploy", var deployName])
{
    await using var deployed = await ModalApp.DeployAsync(deployName, new ModalAppOptions { Mode = ModalMode.Remote });
    Console.WriteLine($"deployed={deployed.Name}");
    return 0;
}
await using var app = await ModalApp.RunAsync(args);
return 0;
