using System.ComponentModel;

namespace Modal;

/// <summary>
/// The backend that handles use in this process: installed by <c>ModalApp.RunAsync</c> (or a worker) and
/// removed when the app is disposed, like Modal's ambient client.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ModalBackend
{
    private static IModalBackend? s_current;

    /// <summary>The installed backend; throws with what to do when no app is running.</summary>
    public static IModalBackend Current => Volatile.Read(ref s_current) ?? throw new InvalidOperationException(
        "No Modal app is running in this process. Start one with " +
        "'await using var app = await ModalApp.RunAsync(args);' before calling a function remotely, " +
        "or call '.Local(...)' to run it here.");

    /// <summary>The installed backend, or null.</summary>
    public static IModalBackend? TryGetCurrent() => Volatile.Read(ref s_current);

    /// <summary>Installs a backend until the returned scope is disposed. One app runs at a time per process.</summary>
    public static IDisposable Install(IModalBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (Interlocked.CompareExchange(ref s_current, backend, null) is { } running)
        {
            throw new InvalidOperationException(
                $"A Modal app is already running in this process ({running.RunningAppName ?? "unnamed"}). " +
                "Dispose it before starting another.");
        }
        return new Installation(backend);
    }

    private sealed class Installation(IModalBackend backend) : IDisposable
    {
        public void Dispose() => Interlocked.CompareExchange(ref s_current, null, backend);
    }
}
