using System.CommandLine;
using Modal.Cli;
using Modal.Server;

// The `modal` tool. Exit codes: 0 success, 1 a failed call or operation (the control plane refused or could not be
// reached, a function failed), 2 bad usage (one line on standard error).
var root = new RootCommand("Modal for .NET: run the control plane and manage its apps, functions, containers and tokens.");
root.Subcommands.Add(ControlPlaneCommandLine.AddServer(new Command("server", "Run the standalone control plane until SIGINT or SIGTERM.")));
root.Subcommands.Add(AdminCommands.App());
root.Subcommands.Add(AdminCommands.Function());
root.Subcommands.Add(RunCommand.Run());
root.Subcommands.Add(DeployCommand.Deploy());
root.Subcommands.Add(CallCommand.Call());
root.Subcommands.Add(ContainerCommands.Container());
root.Subcommands.Add(TokenCommands.Token());
return await ControlPlaneCommandLine.InvokeAsync(root, args, "modal");
