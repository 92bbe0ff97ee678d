using System.Runtime.Versioning;

using Modal.Server.Launching;

namespace Modal.Server.Tests.Images;

/// <summary>How a podman worker's variables reach it: an env file only the server's user reads, never podman's own environment.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class WorkerEnvironmentFileTests
{
    private static ContainerLaunchRequest Request(IReadOnlyDictionary<string, string> environment) =>
        new("ct-1", "token", "app", "Square", "", [], "", environment, "localhost:5999/app@sha256:" + new string('a', 64), (_, _) => { });

    [Fact]
    public void The_variables_are_written_as_lines_in_a_file_only_the_servers_user_can_read_and_deleted_with_it()
    {
        var environment = new Dictionary<string, string> { ["MODAL_CONTAINER_TOKEN"] = "secret", ["CONTAINERS_CONF"] = "/tmp/x.conf", ["EMPTY"] = "" };
        string directory;
        using (var file = WorkerEnvironmentFile.Write(Request(environment), environment))
        {
            directory = Path.GetDirectoryName(file.Path)!;
            Assert.Equal("CONTAINERS_CONF=/tmp/x.conf\nEMPTY=\nMODAL_CONTAINER_TOKEN=secret\n", File.ReadAllText(file.Path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file.Path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
        }
        Assert.False(Directory.Exists(directory));
    }

    [Theory]
    [InlineData("MODE", "fast\nMODAL_CONTAINER_TOKEN=stolen")]
    [InlineData("MODE", "fast\r")]
    public void A_value_with_a_line_break_is_refused_naming_the_variable(string name, string value)
    {
        var environment = new Dictionary<string, string> { [name] = value };

        var error = Assert.Throws<InvalidOperationException>(() => WorkerEnvironmentFile.Write(Request(environment), environment));

        Assert.Contains($"environment variable '{name}'", error.Message);
        Assert.Contains("Function Square of app app", error.Message);
    }

    [Fact]
    public void Podman_is_given_the_file_and_no_variable_by_name()
    {
        var launcher = new PodmanLauncher(new PodmanLauncherOptions(), "/tmp/modal-control-x/control.sock");

        var arguments = launcher.RunArguments(Request(new Dictionary<string, string>()), "/tmp/modal-env-x/worker.env");

        Assert.Equal("/tmp/modal-env-x/worker.env", arguments[arguments.ToList().IndexOf("--env-file") + 1]);
        Assert.DoesNotContain("--env", arguments);
    }
}
