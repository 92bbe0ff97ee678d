using Modal.Server;

// The standalone control plane: `dotnet run --project src/Server -- --port 50051 --db modal.db`.
var options = ControlPlaneCommandLine.Parse(args);
await StandaloneControlPlane.RunAsync(options, Console.Out);
