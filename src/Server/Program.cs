using System.Runtime.InteropServices;
using Modal.Server;

// The standalone control plane: `dotnet run --project src/Server -- --port 50051 --db modal.db`.
var options = ControlPlaneCommandLine.Parse(args);
await using var controlPlane = await ControlPlane.StartAsync(options);
Console.WriteLine($"Modal control plane listening on {controlPlane.Url}");
var stopped = new TaskCompletionSource();
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
await stopped.Task;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stopped.TrySetResult();
}
