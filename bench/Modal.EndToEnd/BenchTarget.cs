namespace Modal.EndToEnd;

/// <summary>The function the runner calls (<c>--function</c>), as the delegates of its generated handle.</summary>
internal sealed record BenchTarget(
    string Name, Function Handle, Func<int, Task<long>> RemoteAsync, Func<int, Task> SpawnAsync, Func<IEnumerable<int>, bool, IAsyncEnumerable<long>> Map)
{
    /// <summary>The names <c>--function</c> takes.</summary>
    public static readonly IReadOnlyList<string> Names = ["Square", "SquareDefaults", "SquareTwoContainers"];

    /// <summary>The function named <paramref name="name"/> (one of <see cref="Names"/>).</summary>
    public static BenchTarget Named(string name) => name switch
    {
        "Square" => new(name, EndToEndFunctions.Functions.Square, x => EndToEndFunctions.Functions.Square.RemoteAsync(x),
            async x => await EndToEndFunctions.Functions.Square.SpawnAsync(x), (xs, ordered) => EndToEndFunctions.Functions.Square.Map(xs, ordered)),
        "SquareDefaults" => new(name, EndToEndFunctions.Functions.SquareDefaults, x => EndToEndFunctions.Functions.SquareDefaults.RemoteAsync(x),
            async x => await EndToEndFunctions.Functions.SquareDefaults.SpawnAsync(x),
            (xs, ordered) => EndToEndFunctions.Functions.SquareDefaults.Map(xs, ordered)),
        "SquareTwoContainers" => new(name, EndToEndFunctions.Functions.SquareTwoContainers,
            x => EndToEndFunctions.Functions.SquareTwoContainers.RemoteAsync(x), async x => await EndToEndFunctions.Functions.SquareTwoContainers.SpawnAsync(x),
            (xs, ordered) => EndToEndFunctions.Functions.SquareTwoContainers.Map(xs, ordered)),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, $"The functions are {string.Join(", ", Names)}."),
    };
}
