using System.Runtime.CompilerServices;
using MessagePack;

[assembly: Modal.ModalApp("aot", Aot = true)]

namespace Modal.Aot;

/// <summary>A user type with a MessagePack contract, as argument and result.</summary>
[MessagePackObject]
public sealed record Point([property: Key(0)] int X, [property: Key(1)] int Y);

/// <summary>A user type without a contract (written by member name), as argument and result.</summary>
public sealed record Person(string Name, int Age, IReadOnlyList<string> Tags);

/// <summary>A type no function's signature names, so the generator makes no formatter for it.</summary>
public sealed class Unlisted
{
    public int Value { get; set; }
}

/// <summary>The conformance suite's core cases, in an app a NativeAOT worker serves.</summary>
public static partial class AotFunctions
{
    [Function]
    public static int Square(int x) => x * x;

    /// <summary>Returns <paramref name="value"/> after <paramref name="delayMs"/>, to make completion order differ from input order.</summary>
    [Function]
    public static async Task<int> DelayedEcho(int value, int delayMs, CancellationToken cancellationToken)
    {
        await Task.Delay(delayMs, cancellationToken);
        return value;
    }

    [Function]
    public static async IAsyncEnumerable<int> Count(int n, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (int i = 0; i < n; i++)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return i;
        }
    }

    [Function]
    public static async Task<int> Sleep(int milliseconds, CancellationToken cancellationToken)
    {
        await Task.Delay(milliseconds, cancellationToken);
        return milliseconds;
    }

    /// <summary>Ignores the timeout (it takes no token) and sleeps past it.</summary>
    [Function(TimeoutSeconds = 1)]
    public static async Task<int> IgnoresTimeout(int milliseconds)
    {
        await Task.Delay(milliseconds);
        return milliseconds;
    }

    [Function]
    public static Point Mirror(Point point) => new(point.Y, point.X);

    [Function]
    public static Person Birthday(Person person) => person with { Age = person.Age + 1, Tags = [.. person.Tags, "older"] };

    /// <summary>Whether this process runs as native code (no JIT): true in a NativeAOT worker.</summary>
    [Function]
    public static bool IsNative(int unused) => !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported;

    /// <summary>
    /// Encodes a type that no signature names: with the JIT, MessagePack's dynamic resolver makes a formatter ("encoded"); in a
    /// NativeAOT worker ModalSerializer has no dynamic resolver, and the refusal's message comes back instead.
    /// </summary>
    [Function]
    public static string EncodeUnlisted(int value)
    {
        try
        {
            ModalSerializer.Serialize(new Unlisted { Value = value });
            return "encoded";
        }
        catch (Exception exception)
        {
            while (exception.InnerException is { } inner)
            {
                exception = inner;
            }
            return exception.Message;
        }
    }
}
