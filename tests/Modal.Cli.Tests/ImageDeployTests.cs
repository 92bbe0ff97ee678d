using System.Diagnostics;
using System.Text.Json;
using Modal.Integration.Tests;

namespace Modal.Cli.Tests;

/// <summary>
/// `modal deploy` of tests/Modal.Versions.App to a `modal server --launcher podman` with the tests' loopback registry: the
/// SDK's PublishContainer builds the worker image, the version records it by digest, and a call runs in a container of it.
/// </summary>
[Collection(ToolCollection.Name)]
public sealed class ImageDeployTests : IAsyncLifetime
{
    private const string App = "images-" + "test";
    private readonly string _directory = Directory.CreateTempSubdirectory("modal-image-deploy-test-").FullName;
    private Process? _server;
    private string _url = string.Empty;

    public async Task InitializeAsync() => (_server, _url) = await ModalTool.StartServerAsync(Path.Combine(_directory, "modal.db"),
        "--launcher", "podman", "--registry", TestContainers.Registry, "--base-image", TestContainers.BaseImage);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
            _server.Dispose();
        }
        foreach (string container in await TestContainers.RunningAsync("dev.modal.app=" + App))
        {
            await TestContainers.RunAsync("podman", "rm", "--force", "--time", "0", container);
        }
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Deploy_builds_a_labelled_image_with_PublishContainer_records_it_by_digest_and_the_server_runs_it_under_podman()
    {
        var deployed = await ModalTool.RunAsync(ModalTool.ToolAssembly,
            ["deploy", ModalTool.ProjectDirectory("tests/Modal.Versions.App", "Modal.Versions.App.csproj"), "--name", App, "--server", _url, "--json"],
            limit: TimeSpan.FromMinutes(8));
        Assert.True(deployed.ExitCode == 0, deployed.Output + deployed.Errors);
        var result = JsonDocument.Parse(deployed.Output).RootElement;
        Assert.Equal(1, result.GetProperty("version").GetInt32());
        string image = result.GetProperty("image").GetString()!;
        Assert.Matches($"^{TestContainers.Registry}/modal-apps/{App}@sha256:[0-9a-f]{{64}}$", image);

        // The manifest and config, as the registry serves them.
        var labels = JsonDocument.Parse(await ToolAsync("skopeo", "inspect", "--tls-verify=false", "docker://" + image)).RootElement.GetProperty("Labels");
        Assert.Equal(App, labels.GetProperty("dev.modal.app").GetString());
        Assert.Equal("WhichBuild", labels.GetProperty("dev.modal.functions").GetString());
        Assert.Equal("WhichBuild(string appName, int waitForVersion) -> string", labels.GetProperty("dev.modal.function.WhichBuild").GetString());
        Assert.Equal("Modal.Versions.App.dll", labels.GetProperty("dev.modal.entrypoint").GetString());
        Assert.Contains("MODAL_CONTAINER_TOKEN", labels.GetProperty("dev.modal.worker-environment").GetString());
        var config = JsonDocument.Parse(await ToolAsync("skopeo", "inspect", "--config", "--tls-verify=false", "docker://" + image)).RootElement.GetProperty("config");
        Assert.Equal(["dotnet", "/app/Modal.Versions.App.dll"], config.GetProperty("Entrypoint").EnumerateArray().Select(part => part.GetString()));
        Assert.Equal("/app/", config.GetProperty("WorkingDir").GetString());
        var manifest = JsonDocument.Parse(await ToolAsync("skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + image)).RootElement;
        Assert.True(manifest.GetProperty("layers").GetArrayLength() >= 2, "the base image's layer and the app's");

        // The layers hold the app on top of the .NET runtime: unpacked with umoci.
        string layout = Path.Combine(_directory, "layout");
        await ToolAsync("skopeo", "copy", "--src-tls-verify=false", "docker://" + image, $"oci:{layout}:deployed");
        string stat = await ToolAsync("umoci", "stat", "--image", $"{layout}:deployed", "--json");
        Assert.Contains(".NET SDK Container Tooling", stat);
        string bundle = Path.Combine(_directory, "bundle");
        await ToolAsync("umoci", "unpack", "--image", $"{layout}:deployed", bundle);
        Assert.True(File.Exists(Path.Combine(bundle, "rootfs", "app", "Modal.Versions.App.dll")), "the app's assembly is not in /app");
        Assert.True(File.Exists(Path.Combine(bundle, "rootfs", "app", "Modal.Runtime.dll")), "the Modal runtime is not in /app");
        Assert.True(File.Exists(Path.Combine(bundle, "rootfs", "usr", "share", "dotnet", "dotnet")), "the base image's .NET host is missing");
        var process = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(bundle, "config.json"))).RootElement.GetProperty("process");
        Assert.Equal(["dotnet", "/app/Modal.Versions.App.dll"], process.GetProperty("args").EnumerateArray().Select(part => part.GetString()));

        // The server launches the version's image under podman, and the call answers from it.
        var call = await ModalTool.RunAsync("call", App, "WhichBuild", $"\"{App}\"", "0", "--server", _url);
        Assert.True(call.ExitCode == 0, call.Errors);
        Assert.Equal("\"build 1\"", call.Output.Trim());
        string container = Assert.Single(await TestContainers.RunningAsync("dev.modal.app=" + App));
        var inspected = JsonDocument.Parse(await ToolAsync("podman", "inspect", container)).RootElement[0];
        Assert.Equal(image, inspected.GetProperty("ImageName").GetString());
    }

    [Fact]
    public async Task Deploy_of_a_NativeAOT_project_builds_an_image_whose_entrypoint_is_the_native_executable()
    {
        // tests/Modal.Aot.Functions has PublishAot and [ModalApp("aot", Aot = true)]; the publish takes a minute or two.
        var deployed = await ModalTool.RunAsync(ModalTool.ToolAssembly,
            ["deploy", ModalTool.ProjectDirectory("tests/Modal.Aot.Functions", "Modal.Aot.Functions.csproj"), "--name", App, "--server", _url, "--json",
             "--property", "RuntimeIdentifier=linux-x64"],
            limit: TimeSpan.FromMinutes(12));
        Assert.True(deployed.ExitCode == 0, deployed.Output + deployed.Errors);
        string image = JsonDocument.Parse(deployed.Output).RootElement.GetProperty("image").GetString()!;
        var labels = JsonDocument.Parse(await ToolAsync("skopeo", "inspect", "--tls-verify=false", "docker://" + image)).RootElement.GetProperty("Labels");
        Assert.Equal("Modal.Aot.Functions", labels.GetProperty("dev.modal.entrypoint").GetString());
        var config = JsonDocument.Parse(await ToolAsync("skopeo", "inspect", "--config", "--tls-verify=false", "docker://" + image)).RootElement.GetProperty("config");
        Assert.Equal(["/app/Modal.Aot.Functions"], config.GetProperty("Entrypoint").EnumerateArray().Select(part => part.GetString()));

        // The call answers from a container of that image, where no code is generated at run time.
        var call = await ModalTool.RunAsync("call", App, "IsNative", "0", "--server", _url);
        Assert.True(call.ExitCode == 0, call.Errors);
        Assert.Equal("true", call.Output.Trim());
        Assert.Single(await TestContainers.RunningAsync("dev.modal.app=" + App));
    }

    private static async Task<string> ToolAsync(string tool, params string[] arguments)
    {
        var (exitCode, output, errors) = await TestContainers.RunAsync(tool, arguments);
        Assert.True(exitCode == 0, $"{tool} {string.Join(' ', arguments)} failed ({exitCode}): {errors}");
        return output;
    }
}
