using Modal.Server;

// `modal server [options]`: the standalone control plane.
if (args is ["server", .. var serverArgs])
{
    await StandaloneControlPlane.RunAsync(ControlPlaneCommandLine.Parse(serverArgs), Console.Out);
    return 0;
}
await Console.Error.WriteLineAsync("Usage: modal server [--port PORT] [--db FILE|postgresql://...] [--listen ADDRESS] [--blobs DIR]");
return 2;
