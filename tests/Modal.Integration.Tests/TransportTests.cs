using System.Diagnostics;
using Modal.Api;
using Modal.Integration;

namespace Modal.Integration.Tests;

/// <summary>TLS and where a standalone control plane may listen: real server processes, real clients, a self-signed certificate.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class TransportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modal-tls-").FullName;

    private string CertificatePath => Path.Combine(_directory, "cert.pem");

    private string KeyPath => Path.Combine(_directory, "key.pem");

    /// <summary>A self-signed certificate for 127.0.0.1 and localhost, made with openssl.</summary>
    private async Task MakeCertificateAsync()
    {
        var start = new ProcessStartInfo("openssl") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in new[]
        {
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", KeyPath, "-out", CertificatePath, "-days", "2", "-subj", "/CN=modal-test",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        })
        {
            start.ArgumentList.Add(argument);
        }
        using var openssl = Process.Start(start)!;
        string errors = await openssl.StandardError.ReadToEndAsync();
        await openssl.WaitForExitAsync();
        Assert.True(openssl.ExitCode == 0, $"openssl failed: {errors}");
    }

    [Fact]
    public async Task Listening_beyond_loopback_without_tls_refuses_to_start_unless_insecure_is_given()
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync("--listen", "0.0.0.0"));
        Assert.Contains("Refusing to listen on 0.0.0.0 without TLS", refused.Message, StringComparison.Ordinal);

        await using var insecure = await ServerProcess.StartAsync("--listen", "0.0.0.0", "--insecure");
        Assert.Contains("WARNING", insecure.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tls_server_with_a_self_signed_certificate_serves_clients_and_workers_that_trust_it()
    {
        await MakeCertificateAsync();
        await using var server = await ServerProcess.StartAsync("--listen", "0.0.0.0", "--tls-cert", CertificatePath, "--tls-key", KeyPath);
        Assert.StartsWith("https://", server.Url, StringComparison.Ordinal);

        using (var untrusting = GrpcConnection.ForClient(server.Url, TestToken.Id, TestToken.Secret, TimeSpan.Zero))
        {
            await Assert.ThrowsAnyAsync<ModalException>(() =>
                untrusting.CallAsync((e, o) => e.Client.AppListAsync(new AppListRequest(), o), CancellationToken.None));
        }

        // A whole app over TLS: deployed from another process, its workers on the server, its result fetched by a third.
        string name = "tls-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Contains($"deployed={name}", await RunClientProcessAsync(server.Url, "deploy", name));
        using var client = GrpcConnection.ForClient(server.Url, TestToken.Id, TestToken.Secret, caCertificatePath: CertificatePath);
        var function = await client.CallAsync((e, o) => e.Client.FunctionGetAsync(new FunctionGetRequest { AppName = name, FunctionName = "SlowIdentity" }, o),
            CancellationToken.None);
        var call = await client.CallAsync((e, o) => e.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = function.FunctionId, Invocation = FunctionCallInvocation.Async,
            PipelinedInputs = { new FunctionInputItem { Index = 0, Arguments = new Payload { Inline = Google.Protobuf.ByteString.CopyFrom(0x91, 0x05) } } },
        }, o), CancellationToken.None);
        Assert.Contains("result=5", await RunClientProcessAsync(server.Url, "get", call.FunctionCallId));
    }

    /// <summary>Runs the functions executable as a client of the TLS server (trusting its certificate) and returns its output.</summary>
    private Task<string> RunClientProcessAsync(string url, params string[] arguments) =>
        ClientProcess.RunAsync(url, TimeSpan.FromSeconds(90), new Dictionary<string, string> { ["MODAL_CA_CERT"] = CertificatePath }, arguments);

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
