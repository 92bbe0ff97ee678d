namespace Modal.Server.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public void Port_and_database_are_parsed()
    {
        var options = ControlPlaneCommandLine.Parse(["--port", "50051", "--db", "modal.db"]);

        Assert.Equal(50051, options.Port);
        Assert.Equal("modal.db", options.DatabasePath);
        Assert.Equal("127.0.0.1", options.ListenAddress);
    }

    [Fact]
    public void Unknown_options_are_named()
    {
        var error = Assert.Throws<ArgumentException>(() => ControlPlaneCommandLine.Parse(["--nope"]));

        Assert.Contains("--nope", error.Message);
    }

    [Fact]
    public void The_command_line_server_is_standalone_and_takes_tls_and_insecure()
    {
        var options = ControlPlaneCommandLine.Parse(["--listen", "0.0.0.0", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--insecure"]);

        Assert.True(options.Standalone);
        Assert.Equal(("0.0.0.0", "c.pem", "k.pem", true), (options.ListenAddress, options.TlsCertificatePath, options.TlsKeyPath, options.Insecure));
        Assert.False(new ControlPlaneOptions().Standalone);
    }
}
