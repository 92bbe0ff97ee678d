using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Modal.EndToEnd;

/// <summary>
/// What a kind's cold calls go to: ColdPing of this runner's app (process and podman, whose workers run this runner's
/// build), or of the NativeAOT app (podman-aot), deployed by its native executable and called by name from a client-only
/// connection. Disposing it stops the app or the connection.
/// </summary>
internal sealed class ColdTarget(Function handle, Func<int, Task<int>> call, Func<ValueTask> stop) : IAsyncDisposable
{
    /// <summary>The function, for its runner count.</summary>
    public Function Handle { get; } = handle;

    /// <summary>Starts the kind's app on <paramref name="serverUrl"/>: what the cold-start table reports as the app start.</summary>
    public static async Task<ColdTarget> StartAsync(WorkerKind kind, AotBuilds? aot, string serverUrl)
    {
        var options = new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = serverUrl };
        if (kind != WorkerKind.PodmanAot)
        {
            // With podman, the control plane builds the app's worker image here (buildah, from the uploaded build output).
            var app = await ModalApp.RunAsync([], options);
            var coldPing = EndToEndFunctions.Functions.ColdPing;
            return new ColdTarget(coldPing, x => coldPing.RemoteAsync(x), app.DisposeAsync);
        }
        // The NativeAOT app deploys itself (the control plane builds its worker image from the upload, as for podman);
        // this runner is then a client only (AddModal's connection, which registers no functions of its own).
        await (aot ?? throw new ArgumentNullException(nameof(aot))).DeployAsync(serverUrl);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddModal(options);
        var host = builder.Build();
        await host.StartAsync();
        var byName = Function.FromName(AotBuilds.AppName, "ColdPing");
        return new ColdTarget(byName, x => byName.RemoteAsync<int>(x), async () =>
        {
            await host.StopAsync();
            host.Dispose();
        });
    }

    /// <summary>One call of ColdPing(<paramref name="x"/>), which answers x + 1.</summary>
    public Task<int> CallAsync(int x) => call(x);

    public ValueTask DisposeAsync() => stop();
}
