namespace Modal.Generator.Tests;

/// <summary>Inputs shared by the golden, incremental and handle tests.</summary>
internal static class TestSources
{
    /// <summary>The input of docs/design/generated-code.md.</summary>
    public const string Hello = """
        using System.Collections.Generic;
        using System.Linq;
        using System.Runtime.CompilerServices;
        using System.Threading;
        using System.Threading.Tasks;
        using Modal;

        [assembly: ModalApp("hello")]
        namespace Demo;

        public static partial class Hello
        {
            [Function] public static int Square(int x) => x * x;

            [Function(Name = "add", TimeoutSeconds = 60)]
            [Retries(MaxRetries = 2)]
            public static Task<int> Add(int a, int b, CancellationToken cancellationToken) => Task.FromResult(a + b);

            [Function] public static void Log(string message) { }

            [Function]
            public static async IAsyncEnumerable<string> Tokens(string text,
                [EnumeratorCancellation] CancellationToken cancellationToken = default)
            {
                foreach (var token in text.Split(' '))
                {
                    await Task.Yield();
                    yield return token;
                }
            }

            [Function, Batched(MaxBatchSize = 64, WaitMs = 10)]
            public static IReadOnlyList<int> Double(IReadOnlyList<int> xs) => xs.Select(x => 2 * x).ToList();
        }
        """;

    /// <summary>Nested types in the global namespace, nullable and user types, tuples, no [ModalApp].</summary>
    public const string Nested = """
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        using Modal;

        public sealed record Point(double X, double Y);

        public static partial class Outer
        {
            internal static partial class Inner
            {
                [Function(Cpu = 1.5, MemoryMb = 512, Gpu = "A100:2", MinContainers = 1, MaxContainers = 8, BufferContainers = 1, ScaledownWindowSeconds = 30, MaxInputs = 4)]
                [Retries(MaxRetries = 3, BackoffCoefficient = 1.5, InitialDelayMs = 500, MaxDelayMs = 10000)]
                public static string? Echo(string? text) => text;

                [Function]
                public static Task Ping() => Task.CompletedTask;

                [Function(Name = "distance")]
                public static ValueTask<double> Distance(Point from, Point to, (int Scale, string Unit) options, CancellationToken cancellationToken)
                    => new(options.Scale * System.Math.Sqrt(((to.X - from.X) * (to.X - from.X)) + ((to.Y - from.Y) * (to.Y - from.Y))));

                [Function]
                public static int Now() => 42;
            }
        }
        """;

    /// <summary>Shapes not in the design doc's input: async batched, keyword and colliding names, internal types.</summary>
    public const string Shapes = """
        using System.Collections.Generic;
        using System.Linq;
        using System.Threading;
        using System.Threading.Tasks;
        using Modal;

        namespace Shapes.Inner;

        internal sealed class Secret
        {
            public string Value { get; set; } = "";
        }

        public partial class Mixed
        {
            [Function]
            public static void Store(string @class, int buffer, List<int?> cancellationToken) { }

            [Function]
            public static async ValueTask Touch(int[] values, CancellationToken token) => await Task.Delay(1, token);

            [Function(Name = "reveal.v2")]
            internal static Secret Reveal(Secret secret) => secret;

            [Function, Batched(MaxBatchSize = 8)]
            public static async Task<IReadOnlyList<string>> Upper(IReadOnlyList<string> texts, CancellationToken cancellationToken)
            {
                await Task.Yield();
                return texts.Select(text => text.ToUpperInvariant()).ToList();
            }

            [Function]
            public static Dictionary<string, int> Count(IReadOnlyDictionary<string, int> counts, IEnumerable<string> keys) => counts.ToDictionary(pair => pair.Key, pair => pair.Value);
        }
        """;

    /// <summary>A [Cls] class with parameters (one optional), enter and exit methods, and unary and generator methods.</summary>
    public const string Cls = """
        using System;
        using System.Collections.Generic;
        using System.Runtime.CompilerServices;
        using System.Threading;
        using System.Threading.Tasks;
        using Modal;

        [assembly: ModalApp("models")]
        namespace Demo;

        [Cls(MaxContainers = 2, TimeoutSeconds = 600)]
        [Retries(MaxRetries = 1)]
        public partial class Model
        {
            [Parameter] public string Name { get; init; } = "base";
            [Parameter] public int Size { get; set; }
            [Parameter] public byte[]? Salt { get; init; } = null;
            private string? _weights;
            private int _calls;

            [Enter] public async Task LoadAsync(CancellationToken cancellationToken) { await Task.Delay(1, cancellationToken); _weights = Name + Size; }
            [Enter] public void Count() => _calls = 0;

            [Method] public float[] Embed(string text) => new float[] { text.Length, _weights!.Length };
            [Method] public async Task<int> Calls(CancellationToken cancellationToken) { await Task.Yield(); return ++_calls; }
            [Method] public void Forget(string key, int times) { }

            [Method]
            public async IAsyncEnumerable<string> Words(string text, [EnumeratorCancellation] CancellationToken cancellationToken = default)
            {
                foreach (var word in text.Split(' '))
                {
                    await Task.Yield();
                    yield return word;
                }
            }

            [Exit] public void Unload() => _weights = null;
        }

        public static partial class Plain
        {
            [Function] public static int Twice(int x) => 2 * x;
        }
        """;

    /// <summary>An app with [ModalApp(Aot = true)]: every kind of type the generated formatters handle, and samples of them.</summary>
    public const string Aot = """
        using System.Collections.Generic;
        using System.Runtime.CompilerServices;
        using System.Threading;
        using System.Threading.Tasks;
        using MessagePack;
        using Modal;

        [assembly: ModalApp("aot-demo", Aot = true)]
        namespace Demo;

        public enum Color { Red, Green = 5 }

        /// <summary>Keyed by index, with a gap at 1 and a member of another user type.</summary>
        [MessagePackObject]
        public sealed record Point([property: Key(0)] int X, [property: Key(2)] int Y, [property: Key(3)] Label? Label);

        /// <summary>Keyed by name.</summary>
        [MessagePackObject]
        public sealed class Label
        {
            [Key("text")] public string Text { get; set; } = "";
            [Key("color")] public Color Color { get; set; }
            [IgnoreMember] public int Ignored { get; set; }
        }

        /// <summary>No contract: written by member name.</summary>
        public sealed record Person(string Name, int Age, IReadOnlyList<string> Tags)
        {
            public Dictionary<string, int>? Scores { get; init; }
            public int? Rank { get; set; }
        }

        /// <summary>A struct with fields and no constructor.</summary>
        public struct Pair
        {
            public long First;
            public double[] Second;
        }

        public static partial class Shapes
        {
            [Function] public static Point Mirror(Point point) => point;
            [Function] public static Task<List<Person>> People(Person[] people, CancellationToken cancellationToken) => Task.FromResult(new List<Person>(people));
            [Function] public static async IAsyncEnumerable<Pair> Pairs(int n) { await Task.Yield(); yield return new Pair(); }
            [Function] public static Color? Paint(HashSet<Color> colors) => null;
        }

        /// <summary>Values the tests encode with the generated and the dynamic formatters.</summary>
        public static class Samples
        {
            public static object[] All() =>
            [
                new Point(1, 2, new Label { Text = "a", Color = Color.Green, Ignored = 7 }),
                new Point(-3, 4, null),
                new Person("Ada", 36, ["x", "y"]) { Scores = new() { ["math"] = 10 }, Rank = 2 },
                new Person("Bob", 1, []),
                new List<Person> { new("Cy", 2, ["z"]) },
                new[] { new Person("Di", 3, []) },
                new Pair { First = 5, Second = [1.5, 2.5] },
                new HashSet<Color> { Color.Red },
            ];
        }
        """;
}
