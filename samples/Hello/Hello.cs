using System.Runtime.CompilerServices;
using Modal;

[assembly: ModalApp("hello")]

namespace HelloSample;

/// <summary>The functions of the "hello" app. Each [Function] gets a handle: <c>Hello.Functions.Square</c>, ...</summary>
public static partial class Hello
{
    /// <summary>A plain function: one input, one output. At most 2 containers, each running 64 inputs at once.</summary>
    [Function(MaxContainers = 2, MaxInputs = 64)]
    public static int Square(int x) => x * x;

    /// <summary>A generator function: its items stream back to the caller as they are produced.</summary>
    [Function]
    public static async IAsyncEnumerable<string> Tokens(string text, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // What a function prints reaches the caller's console, prefixed with the function's name.
        Console.WriteLine($"splitting {text.Length} characters in process {Environment.ProcessId}");
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            await Task.Delay(50, cancellationToken);
            yield return word;
        }
    }

    /// <summary>A function that fails for some inputs; the caller gets a <see cref="RemoteFunctionException"/>.</summary>
    [Function]
    public static int Divide(int numerator, int denominator) => numerator / denominator;
}
