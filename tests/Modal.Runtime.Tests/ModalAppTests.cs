using Modal.Conformance;

namespace Modal.Runtime.Tests;

/// <summary>Starting and stopping apps: one app per process, so these run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AppLifetimeCollection
{
    public const string Name = "App lifetime";
}

[Collection(AppLifetimeCollection.Name)]
public sealed class ModalAppTests
{
    [Fact]
    public async Task Auto_mode_without_a_server_url_runs_an_embedded_control_plane()
    {
        Assert.True(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MODAL_SERVER_URL")), "MODAL_SERVER_URL is set for the test run.");
        await using var app = await ModalApp.RunAsync();
        Assert.Equal(ModalMode.Embedded, app.Mode);
        Assert.Equal("conformance", app.Name);
        Assert.Equal(16, await TestFunctions.Functions.Square.RemoteAsync(4));
    }

    [Fact]
    public async Task AppName_option_renames_the_running_app()
    {
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { AppName = "renamed", Mode = ModalMode.InProcess });
        Assert.Equal("renamed", app.Name);
        Assert.Equal("renamed", TestFunctions.Functions.Square.AppName);
        Assert.Equal(9, await Function.FromName("renamed", "Square").RemoteAsync<int>(3));
        await Assert.ThrowsAsync<NotFoundException>(() => Function.FromName("conformance", "Square").RemoteAsync<int>(3));
    }

    [Fact]
    public async Task A_version_pin_in_in_process_mode_is_refused_with_what_to_do()
    {
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.InProcess });

        var exception = await Assert.ThrowsAsync<NotFoundException>(() => Function.FromName("conformance", "Square", version: 2).RemoteAsync<int>(3));

        Assert.Contains("Function 'Square' of app 'conformance' has no version 2 in in-process mode", exception.Message);
        Assert.Contains("Call it without a version", exception.Message);
        Assert.Equal(9, await Function.FromName("conformance", "Square").RemoteAsync<int>(3));
    }

    [Fact]
    public async Task Remote_mode_without_a_server_url_says_what_to_set()
    {
        Assert.True(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MODAL_SERVER_URL")), "MODAL_SERVER_URL is set for the test run.");
        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote }));
        Assert.Contains("MODAL_SERVER_URL", exception.Message);
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.InProcess }); // nothing was left installed
    }

    [Fact]
    public async Task Remote_mode_with_an_unreachable_server_throws_ConnectionException_naming_it()
    {
        var exception = await Assert.ThrowsAsync<ConnectionException>(
            () => ModalApp.RunAsync(options: new ModalAppOptions
            {
                Mode = ModalMode.Remote,
                ServerUrl = "http://127.0.0.1:9",
                RetryWindow = TimeSpan.FromMilliseconds(300),
            }));
        Assert.Contains("127.0.0.1:9", exception.Message);
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.InProcess }); // nothing was left installed
    }

    [Fact]
    public async Task A_one_second_RetryWindow_against_a_dead_port_fails_after_about_a_second_and_not_before()
    {
        const string url = "http://127.0.0.1:9"; // discard: nothing listens
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var exception = await Assert.ThrowsAsync<ConnectionException>(
            () => ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = url, RetryWindow = TimeSpan.FromSeconds(1) }));

        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.95), TimeSpan.FromSeconds(15));
        Assert.Contains(url, exception.Message);
        Assert.Contains("RetryWindow is 1 s", exception.Message);
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.InProcess }); // nothing was left installed
    }

    [Fact]
    public async Task A_retry_window_in_the_environment_that_is_not_a_number_is_named()
    {
        Environment.SetEnvironmentVariable("MODAL_RETRY_WINDOW_SECONDS", "soon");
        try
        {
            var exception = await Assert.ThrowsAsync<InvalidOperationException>(
                () => ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = "http://127.0.0.1:9" }));
            Assert.Contains("MODAL_RETRY_WINDOW_SECONDS is 'soon'", exception.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MODAL_RETRY_WINDOW_SECONDS", null);
        }
    }

    [Fact]
    public async Task DeployAsync_in_process_is_not_supported()
        => await Assert.ThrowsAsync<NotSupportedException>(() => ModalApp.DeployAsync("hello", new ModalAppOptions { Mode = ModalMode.InProcess }));

    [Fact]
    public async Task DeployAsync_in_embedded_mode_is_refused_and_says_to_use_a_standalone_server()
    {
        var exception = await Assert.ThrowsAsync<NotSupportedException>(
            () => ModalApp.DeployAsync("hello", new ModalAppOptions { Mode = ModalMode.Embedded }));
        Assert.Contains("cannot deploy 'hello' in ModalMode.Embedded", exception.Message);
        Assert.Contains("set MODAL_SERVER_URL", exception.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void FromName_refuses_a_version_below_1(int version)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => Function.FromName("hello", "Square", version: version));
        Assert.Contains($"Function.FromName(\"hello\", \"Square\", version: {version}): versions count from 1", exception.Message);
    }

    [Fact]
    public async Task Only_one_app_runs_per_process()
    {
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.InProcess });
        await Assert.ThrowsAsync<InvalidOperationException>(() => ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.InProcess }));
    }

    [Fact]
    public async Task Disposing_the_app_cancels_its_calls_and_detaches_the_handles()
    {
        var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.InProcess });
        var running = TestFunctions.Functions.Sleep.RemoteAsync(30_000);
        await Task.Delay(50);
        await app.DisposeAsync();
        await Assert.ThrowsAsync<InputCancelledException>(() => running);
        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => TestFunctions.Functions.Square.RemoteAsync(2));
        Assert.Contains("ModalApp.RunAsync", exception.Message);
        Assert.Equal(4, TestFunctions.Functions.Square.Local(2)); // Local needs no app
    }
}
