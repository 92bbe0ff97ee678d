using System.Globalization;
using Modal;

namespace EmbeddingsSample;

/// <summary>
/// A class with state: each container loads a vector table once, in [Enter], and then embeds text with it for every input
/// it serves. <see cref="Table"/> is a parameter: each table runs in a container pool of its own.
/// </summary>
[Cls(MaxContainers = 2, ScaledownWindowSeconds = 30)]
public partial class Embedder
{
    private Dictionary<string, float[]> _vectors = new(StringComparer.OrdinalIgnoreCase);
    private int _served;

    /// <summary>Which table to load from the vectors folder ("animals", "boats").</summary>
    [Parameter] public string Table { get; init; } = "animals";

    /// <summary>Loads the table: the slow part, done once per container rather than once per input.</summary>
    [Enter]
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "vectors", Table + ".txt");
        foreach (var line in await File.ReadAllLinesAsync(path, cancellationToken))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || parts[0].StartsWith('#'))
            {
                continue;
            }
            _vectors[parts[0]] = parts.Skip(1).Select(value => float.Parse(value, CultureInfo.InvariantCulture)).ToArray();
        }
        Console.WriteLine($"loaded {_vectors.Count} vectors of '{Table}' in process {Environment.ProcessId}");
    }

    /// <summary>The mean vector of the known words of <paramref name="text"/>.</summary>
    [Method]
    public float[] Embed(string text)
    {
        _served++;
        var known = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(_vectors.ContainsKey).Select(word => _vectors[word]).ToList();
        if (known.Count == 0)
        {
            return new float[_vectors.Values.First().Length];
        }
        return Enumerable.Range(0, known[0].Length).Select(i => known.Average(vector => vector[i])).ToArray();
    }

    /// <summary>The word of the table closest to <paramref name="word"/> (cosine similarity), other than itself.</summary>
    [Method]
    public string Nearest(string word)
    {
        _served++;
        var target = _vectors[word];
        return _vectors.Where(pair => !pair.Key.Equals(word, StringComparison.OrdinalIgnoreCase))
            .MaxBy(pair => Cosine(pair.Value, target)).Key;
    }

    /// <summary>How many inputs this container has served: state kept between inputs.</summary>
    [Method]
    public int Served() => _served;

    [Exit]
    public void Unload() => Console.WriteLine($"unloading '{Table}' after {_served} inputs");

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }
}
