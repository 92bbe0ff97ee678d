namespace Modal.EndToEnd;

/// <summary>What <c>--cold-start</c> measured, per kind of worker.</summary>
internal sealed record ColdStartResult(
    DateTimeOffset StartedAt,
    int ProcessorCount,
    string Runtime,
    string Os,
    double? LoadAverageBefore,
    double? LoadAverageAfter,
    int Repeat,
    IReadOnlyList<KindResult> Kinds);

/// <summary>
/// One kind: the app's start on its control plane (with podman, that includes building the worker image), the cold
/// calls, and the bare starts of the same kind (<see cref="Bare"/> says which).
/// </summary>
internal sealed record KindResult(WorkerKind Kind, string Bare, double AppStartMs, StartTimes ColdCall, StartTimes BareStart);

/// <summary>
/// Start times in milliseconds: the first (a worker's first launch pulls its image, a bare podman run may pull the base
/// image) apart, then the nearest-rank median, the minimum and the maximum of the rest, which <see cref="Samples"/> lists.
/// </summary>
internal sealed record StartTimes(double FirstMs, double P50Ms, double MinMs, double MaxMs, IReadOnlyList<double> Samples)
{
    public static StartTimes From(double[] milliseconds)
    {
        var rest = milliseconds[1..];
        var sorted = rest.Order().ToArray();
        return new StartTimes(milliseconds[0], sorted[(int)Math.Ceiling(0.5 * sorted.Length) - 1], sorted[0], sorted[^1], rest);
    }
}
