using System.Diagnostics;
using System.Text.Json;
using MessagePack;
using Modal.Integration.Tests;

namespace Modal.Conformance.Tests;

/// <summary>
/// A standalone control plane with the launcher <see cref="Launcher"/> names, and tests/Modal.Aot.Functions published with
/// NativeAOT and deployed by its own native executable (<c>MODAL_DEPLOY=1</c>): every worker is that executable, run
/// directly by the process launcher or as the entrypoint of the image the server builds from the upload for podman. The
/// conformance app runs beside it as the client that calls the deployed "aot" app by name.
/// </summary>
public abstract class AotFixture() : ModalAppFixture(ModalMode.Remote)
{
    public const string AotApp = "aot";

    private ServerProcess? _server;

    /// <summary>The server's launcher arguments.</summary>
    protected abstract string[] Launcher { get; }

    protected override async Task BeforeStartAsync()
    {
        TestToken.EnsureSet();
        string folder = await AotWorker.PublishAsync();
        _server = await ServerProcess.StartAsync(Launcher);
        await AotWorker.DeployAsync(folder, _server.Url);
    }

    protected override ModalAppOptions CreateOptions() => base.CreateOptions() with { ServerUrl = _server!.Url };

    protected override async Task AfterStopAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>NativeAOT workers in podman containers.</summary>
public sealed class AotPodmanFixture : AotFixture
{
    protected override string[] Launcher => ["--launcher", "podman", "--registry", TestContainers.Registry, "--base-image", TestContainers.BaseImage];

    protected override async Task AfterStopAsync()
    {
        await base.AfterStopAsync();
        foreach (string app in new[] { AppName, AotApp })
        {
            foreach (string container in await TestContainers.RunningAsync($"{Server.Launching.PodmanLauncher.ManagedByLabel}=modal-server", "dev.modal.app=" + app))
            {
                await TestContainers.RunAsync("podman", "rm", "--force", "--time", "0", container);
            }
        }
    }
}

/// <summary>NativeAOT workers as local processes (the process launcher runs the artifact's executable itself).</summary>
public sealed class AotProcessFixture : AotFixture
{
    protected override string[] Launcher => ["--launcher", "process"];
}

/// <summary>Publishes the AOT app (incrementally, into its own bin folder) and deploys it.</summary>
internal static class AotWorker
{
    public const string Executable = "Modal.Aot.Functions";

    /// <summary><c>dotnet publish -c Release -r linux-x64</c> of tests/Modal.Aot.Functions (PublishAot): the folder with the native executable.</summary>
    public static async Task<string> PublishAsync()
    {
        string project = Path.Combine(RepositoryRoot(), "tests", "Modal.Aot.Functions");
        string folder = Path.Combine(project, "bin", "aot-publish");
        await RunAsync("dotnet", ["publish", project, "-c", "Release", "-r", "linux-x64", "-o", folder, "-nologo"], new Dictionary<string, string>(), TimeSpan.FromMinutes(10));
        Assert.True(File.Exists(Path.Combine(folder, Executable)), $"dotnet publish left no native {Executable} in {folder}");
        Assert.False(File.Exists(Path.Combine(folder, Executable + ".dll")), "the publish holds a managed assembly: it is not a NativeAOT publish");
        return folder;
    }

    /// <summary>Runs the native executable with MODAL_DEPLOY=1, as <c>modal deploy</c>'s upload path does.</summary>
    public static Task DeployAsync(string folder, string serverUrl)
        => RunAsync(Path.Combine(folder, Executable), [], new Dictionary<string, string> { ["MODAL_DEPLOY"] = "1", ["MODAL_SERVER_URL"] = serverUrl }, TimeSpan.FromMinutes(5));

    private static async Task RunAsync(string file, string[] arguments, Dictionary<string, string> environment, TimeSpan limit)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment.Remove("MODAL_WORKER");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{file} {string.Join(' ', arguments)}' did not finish within {limit}.");
        }
        Assert.True(process.ExitCode == 0, $"'{file} {string.Join(' ', arguments)}' exited with {process.ExitCode}:\n{await output}\n{await errors}");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Modal.Generators.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No Modal.Generators.sln above {AppContext.BaseDirectory}: the AOT tests publish tests/Modal.Aot.Functions from the repository.");
    }
}

/// <summary>The core cases against NativeAOT workers in podman containers, called by name from a JIT client.</summary>
[Collection(ConformanceCollection.Name)]
public sealed class AotPodmanConformanceTests(AotPodmanFixture fixture) : IClassFixture<AotPodmanFixture>
{
    private static UntypedFunction Aot(string name) => Function.FromName(AotFixture.AotApp, name);

    [Fact]
    public async Task RemoteAsync_runs_in_a_container_whose_entrypoint_is_the_native_executable()
    {
        Assert.NotNull(fixture.App);
        Assert.Equal(49, await Aot("Square").RemoteAsync<int>(7));
        // No JIT where the function ran: ModalSerializer there has no dynamic resolver, only the generated and built-in ones.
        Assert.True(await Aot("IsNative").RemoteAsync<bool>(0), "the worker runs with dynamic code supported: it is not the NativeAOT executable");
        // A type without a generated formatter is refused by name there, not given a formatter made at run time.
        Assert.StartsWith("No MessagePack formatter for 'Modal.Aot.Unlisted' was generated", await Aot("EncodeUnlisted").RemoteAsync<string>(1));
        string container = Assert.IsType<string>((await TestContainers.RunningAsync("dev.modal.app=aot", "dev.modal.function=Square")).FirstOrDefault(), exactMatch: false);
        var (exitCode, output, errors) = await TestContainers.RunAsync("podman", "inspect", container);
        Assert.True(exitCode == 0, errors);
        var config = JsonDocument.Parse(output).RootElement[0].GetProperty("Config");
        var entrypoint = config.GetProperty("Entrypoint");
        Assert.Equal("/app/" + AotWorker.Executable, entrypoint.ValueKind == JsonValueKind.Array
            ? string.Join(' ', entrypoint.EnumerateArray().Select(part => part.GetString()))
            : entrypoint.GetString());
        Assert.Equal(AotWorker.Executable, config.GetProperty("Labels").GetProperty("dev.modal.entrypoint").GetString());
    }

    [Fact]
    public async Task User_types_cross_with_the_generated_formatters_in_both_directions()
    {
        // This client encodes them with MessagePack's dynamic resolvers; the worker decodes and encodes them with generated code.
        Assert.Equal(new Point(2, 1), await Aot("Mirror").RemoteAsync<Point>(new Point(1, 2)));
        var older = await Aot("Birthday").RemoteAsync<Person>(new Person("Ada", 36, ["math"]));
        Assert.Equal(("Ada", 37), (older.Name, older.Age));
        Assert.Equal(["math", "older"], older.Tags);
    }

    [Fact]
    public async Task Map_returns_outputs_in_input_order()
    {
        var values = Enumerable.Range(0, 8).ToArray();
        var outputs = new List<int>();
        await foreach (int output in Aot("DelayedEcho").Map<int>(values.Select(value => new object?[] { value, (8 - value) * 40 })))
        {
            outputs.Add(output);
        }
        Assert.Equal(values, outputs);
    }

    [Fact]
    public async Task SpawnAsync_then_GetAsync_returns_the_result()
        => Assert.Equal(144, await (await Aot("Square").SpawnAsync<int>(12)).GetAsync());

    [Fact]
    public async Task RemoteGen_yields_every_item_in_order()
    {
        var items = new List<int>();
        await foreach (int item in Aot("Count").RemoteGen<int>([50]))
        {
            items.Add(item);
        }
        Assert.Equal(Enumerable.Range(0, 50), items);
    }

    [Fact]
    public async Task Timeout_fails_the_caller_even_when_the_function_ignores_its_token()
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await Aot("IgnoresTimeout").RemoteAsync<int>(0);
                break;
            }
            catch (FunctionTimeoutException) when (attempt < 5)
            {
            }
        }
        var started = DateTime.UtcNow;
        await Assert.ThrowsAsync<FunctionTimeoutException>(() => Aot("IgnoresTimeout").RemoteAsync<int>(30_000));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task CancelAsync_ends_a_running_input_as_terminated()
    {
        var call = await Aot("Sleep").SpawnAsync<int>(30_000);
        await Task.Delay(500);
        var started = DateTime.UtcNow;
        await call.CancelAsync();
        await Assert.ThrowsAsync<InputCancelledException>(() => call.GetAsync());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), "the cancelled 30 s input ran on");
        Assert.Equal(InputStatus.Terminated, Assert.Single(await call.GetCallGraphAsync()).Status);
    }

    /// <summary>The client's own copy of the AOT app's Point: its [Key] contract is the wire format.</summary>
    [MessagePackObject]
    public sealed record Point([property: Key(0)] int X, [property: Key(1)] int Y);

    /// <summary>The client's own copy of the AOT app's Person, written by member name.</summary>
    public sealed record Person(string Name, int Age, IReadOnlyList<string> Tags);
}

/// <summary>NativeAOT workers as processes: the process launcher runs the deployed executable without dotnet.</summary>
[Collection(ConformanceCollection.Name)]
public sealed class AotProcessConformanceTests(AotProcessFixture fixture) : IClassFixture<AotProcessFixture>
{
    private static UntypedFunction Aot(string name) => Function.FromName(AotFixture.AotApp, name);

    [Fact]
    public async Task A_process_worker_is_the_native_executable_and_encodes_user_types_with_generated_code()
    {
        Assert.NotNull(fixture.App);
        Assert.True(await Aot("IsNative").RemoteAsync<bool>(0), "the worker runs with dynamic code supported: it is not the NativeAOT executable");
        Assert.Equal(new AotPodmanConformanceTests.Point(4, 3), await Aot("Mirror").RemoteAsync<AotPodmanConformanceTests.Point>(new AotPodmanConformanceTests.Point(3, 4)));
        var items = new List<int>();
        await foreach (int item in Aot("Count").RemoteGen<int>([5]))
        {
            items.Add(item);
        }
        Assert.Equal(Enumerable.Range(0, 5), items);
    }
}
