using Modal;

[assembly: ModalApp("traced")]

namespace Modal.Tracing;

public static partial class TracedFunctions
{
    /// <summary>Calls <see cref="Inner"/>: a nested call, made from inside a worker.</summary>
    [Function]
    public static async Task<int> Outer(int x) => await Functions.Inner.RemoteAsync(x) + 1;

    [Function]
    public static int Inner(int x) => x * 10;

    /// <summary>Always fails: the first attempt and both retries.</summary>
    [Function]
    [Retries(MaxRetries = 2, InitialDelayMs = 10, MaxDelayMs = 1000)]
    public static int AlwaysFails(int x) => throw new InvalidOperationException($"{x} is never accepted.");
}
