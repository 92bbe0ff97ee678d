namespace Modal.Conformance.Tests;

/// <summary>
/// Starts the conformance app once for a test class, in the mode the concrete fixture names, and stops it after.
/// A mode is added with a fixture and a test class of two lines each (see <see cref="InProcessConformanceTests"/>).
/// </summary>
public abstract class ModalAppFixture(ModalMode mode) : IAsyncLifetime
{
    private ModalApp? _app;

    public ModalMode Mode { get; } = mode;

    public ModalApp App => _app ?? throw new InvalidOperationException("The app has not started.");

    public async Task InitializeAsync()
    {
        await BeforeStartAsync();
        _app = await ModalApp.RunAsync(options: CreateOptions());
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
        await AfterStopAsync();
    }

    /// <summary>Starts what the mode needs before the app (a control plane process, for example).</summary>
    protected virtual Task BeforeStartAsync() => Task.CompletedTask;

    /// <summary>The options the app starts with.</summary>
    protected virtual ModalAppOptions CreateOptions() => new() { Mode = Mode };

    /// <summary>Stops what <see cref="BeforeStartAsync"/> started.</summary>
    protected virtual Task AfterStopAsync() => Task.CompletedTask;
}

/// <summary>One app per process at a time: every conformance class runs in this collection, one after another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConformanceCollection
{
    public const string Name = "Modal conformance";
}
