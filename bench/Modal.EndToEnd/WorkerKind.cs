namespace Modal.EndToEnd;

/// <summary>The kinds of worker <c>--cold-start</c> measures, each beside a bare start of the same kind.</summary>
internal enum WorkerKind
{
    /// <summary>A local worker process (<c>--launcher process</c>), beside a bare <c>dotnet hello.dll</c>.</summary>
    Process,

    /// <summary>A podman container from the app's image (<c>--launcher podman</c>), beside a bare <c>podman run --rm</c> of the base image running hello.dll.</summary>
    Podman,

    /// <summary>
    /// SLOT(aot): a NativeAOT worker in a podman container, beside a bare <c>podman run --rm</c> of a NativeAOT hello.
    /// Not measurable yet: NativeAOT workers (issue 7, part 4) are being built on another branch. <c>--kinds podman-aot</c>
    /// is refused with that reason until <see cref="WorkerKinds.Available"/> lists it; see <c>ColdStartRun.MeasureKindAsync</c>
    /// for the two places to fill in.
    /// </summary>
    PodmanAot,
}

/// <summary>The names <c>--kinds</c> takes.</summary>
internal static class WorkerKinds
{
    public static readonly IReadOnlyList<(string Name, WorkerKind Kind)> All =
        [("process", WorkerKind.Process), ("podman", WorkerKind.Podman), ("podman-aot", WorkerKind.PodmanAot)];

    /// <summary>The kinds that can be measured today (SLOT(aot): add <see cref="WorkerKind.PodmanAot"/> once AOT workers exist).</summary>
    public static readonly IReadOnlyList<WorkerKind> Available = [WorkerKind.Process, WorkerKind.Podman];

    public static string NameOf(WorkerKind kind) => All.First(k => k.Kind == kind).Name;

    /// <summary>Parses a comma-separated list such as <c>process,podman</c>; on failure returns null and says why.</summary>
    public static IReadOnlyList<WorkerKind>? Parse(string? text, out string? error)
    {
        error = null;
        var kinds = new List<WorkerKind>();
        foreach (var name in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var match = All.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.OrdinalIgnoreCase));
            if (match.Name is null)
            {
                error = $"--kinds takes a comma-separated list of {string.Join(", ", All.Select(k => k.Name))}, not '{name}'.";
                return null;
            }
            if (!Available.Contains(match.Kind))
            {
                error = $"--kinds {match.Name}: NativeAOT workers do not exist yet (issue 7, part 4); measure process,podman for now.";
                return null;
            }
            if (!kinds.Contains(match.Kind))
            {
                kinds.Add(match.Kind);
            }
        }
        if (kinds.Count == 0)
        {
            error = $"--kinds takes a comma-separated list of {string.Join(", ", Available.Select(NameOf))}, not '{text}'.";
            return null;
        }
        return kinds;
    }
}
