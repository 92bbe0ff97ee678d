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
}
