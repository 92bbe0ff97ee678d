using System.Diagnostics;
using Modal.Integration;

namespace Modal.Integration.Tests;

/// <summary>The functions executable run as a client of a control plane (its "get", "deploy", "spawn-map"... modes), in a process of its own.</summary>
internal static class ClientProcess
{
    /// <summary>Runs it with these arguments against <paramref name="serverUrl"/> and returns its standard output once it exits with 0.</summary>
    public static async Task<string> RunAsync(string serverUrl, TimeSpan patience, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(IntegrationFunctions).Assembly.Location);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["MODAL_SERVER_URL"] = serverUrl;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        start.Environment.Remove("MODAL_WORKER");
        using var client = Process.Start(start)!;
        var output = client.StandardOutput.ReadToEndAsync();
        var errors = client.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(patience);
        try
        {
            await client.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            client.Kill(entireProcessTree: true);
            throw new TimeoutException($"The client process ({string.Join(' ', arguments)}) did not exit within {patience}: {await errors}{await output}");
        }
        Assert.True(client.ExitCode == 0, $"The client process ({string.Join(' ', arguments)}) failed: {await errors}{await output}");
        return await output;
    }
}
