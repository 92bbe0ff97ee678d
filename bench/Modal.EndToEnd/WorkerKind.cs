namespace Modal.EndToEnd;

/// <summary>The kinds of worker <c>--cold-start</c> measures, each beside a bare start of the same kind.</summary>
internal enum WorkerKind
{
    /// <summary>A local worker process (<c>--launcher process</c>), beside a bare <c>dotnet hello.dll</c>.</summary>
    Process,

    /// <summary>A podman container from the app's image (<c>--launcher podman</c>), beside a bare <c>podman run --rm</c> of the base image running hello.dll.</summary>
    Podman,

    /// <summary>
    /// A NativeAOT worker (bench/Modal.Aot.ColdPing, deployed by its native executable) in a podman container of the same
    /// launcher, beside a bare <c>podman run --rm</c> of the base image running a NativeAOT hello as <c>/app/hello</c>.
    /// </summary>
    PodmanAot,
}

/// <summary>The names <c>--kinds</c> takes.</summary>
internal static class WorkerKinds
{
    public static readonly IReadOnlyList<(string Name, WorkerKind Kind)> All =
        [("process", WorkerKind.Process), ("podman", WorkerKind.Podman), ("podman-aot", WorkerKind.PodmanAot)];

    /// <summary>The kinds measured when <c>--kinds</c> is not given: all of them.</summary>
    public static readonly IReadOnlyList<WorkerKind> Available = [WorkerKind.Process, WorkerKind.Podman, WorkerKind.PodmanAot];

    /// <summary>Whether the kind's workers run in podman containers (so it needs a registry and a base image).</summary>
    public static bool InPodman(WorkerKind kind) => kind is WorkerKind.Podman or WorkerKind.PodmanAot;

    public static string NameOf(WorkerKind kind) => All.First(k => k.Kind == kind).Name;

    /// <summary>Parses a comma-separated list such as <c>process,podman-aot</c>; on failure returns null and says why.</summary>
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
