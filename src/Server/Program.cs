using System.Runtime.InteropServices;
using Modal.Server;

// The standalone control plane: `dotnet run --project src/Server -- --port 50051 --db modal.db`.
ControlPlaneOptions options;
ControlPlane controlPlane;
try
{
    options = ControlPlaneCommandLine.Parse(args);
    controlPlane = await ControlPlane.StartAsync(options);
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine($"modal server: {exception.Message}");
    return 2;
}
await using var running = controlPlane;
if (controlPlane.AdminEnvPath is { } adminEnv)
{
    Console.WriteLine($"Created an admin token: MODAL_TOKEN_ID and MODAL_TOKEN_SECRET are in {adminEnv} (readable by you only).");
}
Console.WriteLine($"Modal control plane listening on {controlPlane.Url}");
var stopped = new TaskCompletionSource();
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
await stopped.Task;
return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stopped.TrySetResult();
}
