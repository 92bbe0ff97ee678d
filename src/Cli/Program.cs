using System.CommandLine;
using Modal.Cli;
using Modal.Server;

// The `modal` tool. Exit codes: 0 success, 1 a failed call (the control plane refused or could not be reached),
// 2 bad usage (one line on standard error).
var root = new RootCommand("Modal for .NET: run the control plane and manage its apps and functions.");
root.Subcommands.Add(ControlPlaneCommandLine.AddServer(new Command("server", "Run the standalone control plane until SIGINT or SIGTERM.")));
root.Subcommands.Add(AdminCommands.App());
root.Subcommands.Add(AdminCommands.Function());
return await ControlPlaneCommandLine.InvokeAsync(root, args, "modal");
