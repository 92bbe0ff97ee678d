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

    [Fact]
    public void Overcommit_and_capacity_are_parsed_and_default_to_the_machine_as_it_is()
    {
        var options = ControlPlaneCommandLine.Parse(["--cpu-overcommit", "2", "--memory-overcommit", "1.5", "--capacity-cpu", "0.5", "--capacity-memory-mb", "4096"]);
        var defaults = ControlPlaneCommandLine.Parse([]);

        Assert.Equal((2.0, 1.5, 0.5, 4096.0), (options.CpuOvercommit, options.MemoryOvercommit, options.CapacityCpu, options.CapacityMemoryMb));
        Assert.Equal((1.0, 1.0, (double?)null, (double?)null), (defaults.CpuOvercommit, defaults.MemoryOvercommit, defaults.CapacityCpu, defaults.CapacityMemoryMb));
    }

    [Fact]
    public void Containers_before_utilization_is_parsed_and_defaults_to_the_launchers_figure()
    {
        Assert.Equal(3, ControlPlaneCommandLine.Parse(["--containers-before-utilization", "3"]).ContainersBeforeUtilization);
        Assert.Null(ControlPlaneCommandLine.Parse([]).ContainersBeforeUtilization);
    }

    [Theory]
    [InlineData("--containers-before-utilization", "0")]
    [InlineData("--cpu-overcommit", "0")]
    [InlineData("--capacity-cpu", "-1")]
    [InlineData("--capacity-memory-mb", "NaN")]
    public void A_capacity_that_is_not_a_positive_number_is_refused_by_name(string option, string value)
    {
        var error = Assert.Throws<ArgumentException>(() => ControlPlaneCommandLine.Parse([option, value]));

        Assert.Contains($"{option} is ", error.Message, StringComparison.Ordinal);
        Assert.Contains("give a positive number", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_podman_launcher_takes_a_registry_and_a_base_image_defaulting_to_the_servers_dotnet_version()
    {
        var options = ControlPlaneCommandLine.Parse(["--launcher", "podman", "--registry", "localhost:5000"]);

        Assert.NotNull(options.Podman);
        Assert.Null(options.Kubernetes);
        Assert.Equal("localhost:5000", options.ImageRegistry);
        Assert.Equal($"localhost:5000/modal/dotnet-runtime:{Environment.Version}", options.WorkerBaseImage);
        Assert.Equal("localhost:5000/base:1", ControlPlaneCommandLine.Parse(["--registry", "localhost:5000", "--base-image", "localhost:5000/base:1"]).WorkerBaseImage);
    }

    [Theory]
    [InlineData(new[] { "--launcher", "podman" }, "--launcher podman needs --registry HOST:PORT")]
    [InlineData(new[] { "--registry", "http://localhost:5000" }, "--registry 'http://localhost:5000' is not HOST[:PORT][/PREFIX]")]
    [InlineData(new[] { "--base-image", "localhost:5000/base:1" }, "--base-image goes with --registry")]
    public void Image_options_that_cannot_work_are_refused_with_the_fix(string[] arguments, string expected)
        => Assert.Contains(expected, Assert.Throws<ArgumentException>(() => ControlPlaneCommandLine.Parse(arguments)).Message);
}
