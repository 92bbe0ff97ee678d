namespace Modal.Conformance.Tests;

/// <summary>
/// The behaviour every execution mode must show, written only against the public API (API.md §2–§4).
/// A concrete subclass per mode supplies a fixture that has started the app in that mode.
/// </summary>
public abstract partial class ConformanceTests<TFixture> : IClassFixture<TFixture>
    where TFixture : ModalAppFixture
{
    /// <summary>How long a test waits for something that should happen promptly.</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30); // a liveness bound: cold starts on a loaded 2-core machine

    protected ConformanceTests(TFixture fixture) => Fixture = fixture;

    protected TFixture Fixture { get; }

    protected static async Task<List<T>> CollectAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }
        return list;
    }

    protected static async IAsyncEnumerable<int> AsyncRange(int start, int count)
    {
        for (int i = start; i < start + count; i++)
        {
            await Task.Yield();
            yield return i;
        }
    }

    protected static string UniqueKey() => Guid.NewGuid().ToString("N");

    protected static string NewTempDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "modal-conformance", UniqueKey());
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <see cref="Patience"/> runs out.</summary>
    protected static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(20);
        }
        return await condition();
    }

    /// <summary>
    /// Calls <paramref name="call"/> until it completes without a timeout (a cold container's start can use up a short
    /// function timeout on a loaded machine), at most a few times.
    /// </summary>
    protected static async Task<bool> SucceedsEventuallyAsync<T>(Func<Task<T>> call)
    {
        for (int attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                await call();
                return true;
            }
            catch (FunctionTimeoutException)
            {
            }
        }
        return false;
    }

    [Fact]
    public void App_runs_in_the_fixture_mode_under_its_name()
    {
        Assert.Equal("conformance", Fixture.App.Name);
        Assert.Equal(Fixture.Mode, Fixture.App.Mode);
    }
}
