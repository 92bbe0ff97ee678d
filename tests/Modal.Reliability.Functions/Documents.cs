using System.Globalization;

namespace Modal.Reliability;

/// <summary>Deterministic documents for the word-count maps: the same index always gives the same text.</summary>
public static class Documents
{
    /// <summary>Document <paramref name="index"/>: 200 to 600 words drawn from a vocabulary of a thousand.</summary>
    public static string Make(int index)
    {
        var random = new Random(index);
        var words = new string[200 + random.Next(400)];
        for (var i = 0; i < words.Length; i++)
        {
            words[i] = "w" + random.Next(1000).ToString(CultureInfo.InvariantCulture);
        }
        return string.Join(' ', words);
    }

    /// <summary>Documents 0 to <paramref name="count"/> - 1.</summary>
    public static IEnumerable<string> Range(int count) => Enumerable.Range(0, count).Select(Make);
}
