using System.CommandLine;
using Modal.Server;

// The standalone control plane: `dotnet run --project src/Server -- --port 50051 --db modal.db` (`modal server` takes
// the same options).
var root = ControlPlaneCommandLine.AddServer(new RootCommand("The Modal control plane: a gRPC server that queues calls and runs them in workers."));
return await ControlPlaneCommandLine.InvokeAsync(root, args, "dotnet run --project src/Server --");
