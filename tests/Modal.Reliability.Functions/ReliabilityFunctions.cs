using System.Globalization;

[assembly: Modal.ModalApp("reliability")]

namespace Modal.Reliability;

/// <summary>Functions the reliability tests run in real worker processes while they break things around them.</summary>
public static partial class ReliabilityFunctions
{
    /// <summary>Counts the words of a document: the word-count app of issue 6, with the default container limits.</summary>
    [Function]
    public static Dictionary<string, int> WordCount(string document)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var word in document.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            counts[word] = counts.GetValueOrDefault(word) + 1;
        }
        return counts;
    }

    /// <summary>A vocabulary of <paramref name="words"/> distinct words, each counted once: one large dictionary.</summary>
    [Function]
    public static Dictionary<string, int> Vocabulary(int words)
    {
        var counts = new Dictionary<string, int>(words, StringComparer.Ordinal);
        for (var i = 0; i < words; i++)
        {
            counts["word" + i.ToString(CultureInfo.InvariantCulture)] = 1;
        }
        return counts;
    }

    /// <summary>
    /// Waits most of half a second and returns its input, with the default options: its containers are busy, so a backlog of
    /// it gets more containers than one whose containers wait for their next input.
    /// </summary>
    [Function]
    public static async Task<int> Nap(int x, CancellationToken cancellationToken)
    {
        await Task.Delay(400, cancellationToken);
        return x;
    }

    /// <summary>Squares after a short pause, on a few containers: the workload the chaos tests break workers under.</summary>
    [Function(MaxContainers = 4)]
    public static async Task<long> Square(int x, CancellationToken cancellationToken)
    {
        await Task.Delay(5, cancellationToken);
        return (long)x * x;
    }
}

/// <summary>What the fuzz test needs from inside a real worker.</summary>
public static partial class FuzzProbes
{
    /// <summary>This worker's container id and token, so that the fuzz test can send worker RPCs as a real container.</summary>
    [Function]
    public static string[] ContainerCredentials() =>
        [Environment.GetEnvironmentVariable("MODAL_CONTAINER_ID") ?? "", Environment.GetEnvironmentVariable("MODAL_CONTAINER_TOKEN") ?? ""];
}
