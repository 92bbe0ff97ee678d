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

    public async Task InitializeAsync() => _app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = Mode });

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

/// <summary>One app per process at a time: every conformance class runs in this collection, one after another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConformanceCollection
{
    public const string Name = "Modal conformance";
}
