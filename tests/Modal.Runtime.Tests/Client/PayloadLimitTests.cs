namespace Modal.Runtime.Tests.Client;

public sealed class PayloadLimitTests
{
    [Fact]
    public void A_payload_over_256_MiB_is_refused_naming_its_size_and_the_limit()
    {
        var exception = Assert.Throws<InvalidInputException>(() => PayloadCodec.CheckSize(PayloadCodec.MaxPayloadSize + 1, "the arguments of 'F'"));
        Assert.Contains("268,435,457", exception.Message);
        Assert.Contains("268,435,456", exception.Message);
        Assert.Contains("'F'", exception.Message);
    }

    [Fact]
    public void A_payload_at_the_limit_is_accepted() => PayloadCodec.CheckSize(PayloadCodec.MaxPayloadSize, "x");

    [Fact]
    public async Task An_oversize_call_fails_before_anything_is_sent()
    {
        // Nothing listens on this port: reaching the network would be a ConnectionException, not InvalidInputException.
        using var connection = GrpcConnection.ForClient("http://127.0.0.1:9", null, null);
        var backend = new GrpcBackend(connection, "app", new Dictionary<string, string> { ["F"] = "fn-1" }, []);
        var arguments = new byte[PayloadCodec.MaxPayloadSize + 1];

        await Assert.ThrowsAsync<InvalidInputException>(
            () => backend.CallAsync(new FunctionReference("app", "F", null), arguments, CancellationToken.None));
    }

    [Fact]
    public async Task An_unreachable_server_is_a_ConnectionException_naming_it()
    {
        using var connection = GrpcConnection.ForClient("http://127.0.0.1:9", null, null, retryWindow: TimeSpan.FromMilliseconds(300));
        var backend = new GrpcBackend(connection, "app", new Dictionary<string, string> { ["F"] = "fn-1" }, []);

        var exception = await Assert.ThrowsAsync<ConnectionException>(
            () => backend.CallAsync(new FunctionReference("app", "F", null), new byte[] { 0x90 }, CancellationToken.None));
        Assert.Contains("127.0.0.1:9", exception.Message);
    }
}
