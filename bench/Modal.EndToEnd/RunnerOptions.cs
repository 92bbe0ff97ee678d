using System.Globalization;

namespace Modal.EndToEnd;

/// <summary>The runner's command line.</summary>
internal sealed record RunnerOptions
{
    public const string Usage =
        """
        usage: dotnet run -c Release --project bench/Modal.EndToEnd -- [options]
          --mode InProcess|Embedded|Remote
                                      where calls run (default Embedded); Remote: the control plane at MODAL_SERVER_URL
          --db PATH|URL               start a standalone control plane on this database (a SQLite file or a postgresql:// URL)
                                      and run Remote against it
          --replicas N                with a postgresql:// --db: start N control planes on it; the app spreads over them (default 1)
          --calls N                   sequential RemoteAsync calls timed for latency (default 200)
          --warmup N                  calls before timing (default 20)
          --inputs N                  inputs per Map (default 10000)
          --function NAME             the function called: Square (MaxContainers 2, MaxInputs 32; the default), SquareDefaults
                                      (the default options: 0.125 cores, 128 MiB, one input per container, as many containers as
                                      the capacity holds) or SquareTwoContainers (the default options with MaxContainers 2)
          --defaults                  the same as --function SquareDefaults
          --cold-map                  no warm-up maps: the ordered map starts the containers it needs, as a first map does
          --allocations               also sample allocations by type during the timed calls and the ordered map
          --echo-only                 measure only the floor (a bare gRPC unary echo, --warmup then --calls calls) and start no app
          --json                      print the results as JSON on stdout (the table goes to stderr)

        cold start (bench/cold-start sets up the registry and base image and passes these):
          --cold-start                measure instead the cold first call of a fresh worker of each kind, beside a bare start of
                                      the same kind: a standalone control plane per kind on a temporary SQLite file
          --kinds LIST                the kinds, comma-separated: process (beside `dotnet hello.dll`), podman (beside `podman run
                                      --rm` of the base image running hello.dll), podman-aot (a NativeAOT worker, beside `podman
                                      run --rm` of the base image running a NativeAOT hello; both are published first with
                                      `dotnet publish -r linux-x64`) (default process,podman,podman-aot)
          --repeat N                  measured cold calls and bare starts per kind, after one first of each reported apart (default 10)
          --registry HOST:PORT        with podman and podman-aot: the registry worker images go to (the control plane's --registry)
          --base-image IMAGE          with podman and podman-aot: the .NET runtime image workers and the bare run start from
                                      (default REGISTRY/modal/dotnet-runtime:RUNTIME-VERSION, as the control plane's)
        """;

    public ModalMode Mode { get; init; } = ModalMode.Embedded;

    /// <summary>With <c>--db</c>: the database of the standalone control plane the runner starts (implies Remote).</summary>
    public string? Database { get; init; }

    /// <summary>With a PostgreSQL <c>--db</c>: how many control planes share it.</summary>
    public int Replicas { get; init; } = 1;
    public int Calls { get; init; } = 200;
    public int Warmup { get; init; } = 20;
    public int Inputs { get; init; } = 10_000;
    public string Function { get; init; } = "Square";
    public bool ColdMap { get; init; }
    public bool Json { get; init; }
    public bool Allocations { get; init; }
    public bool EchoOnly { get; init; }

    /// <summary><c>--cold-start</c>: measure cold first calls of each of <see cref="Kinds"/> instead of one app's run.</summary>
    public bool ColdStart { get; init; }
    public IReadOnlyList<WorkerKind> Kinds { get; init; } = WorkerKinds.Available;
    public int Repeat { get; init; } = 10;
    public string? Registry { get; init; }
    public string? BaseImage { get; init; }

    /// <summary>Parses <paramref name="args"/>; on failure returns null and says why in <paramref name="error"/>.</summary>
    public static RunnerOptions? Parse(string[] args, out string? error)
    {
        var options = new RunnerOptions();
        var modeGiven = false;
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            switch (name)
            {
                case "--mode":
                    if (!TryValue(args, ref i, out var mode) || !Enum.TryParse<ModalMode>(mode, ignoreCase: true, out var parsed)
                        || parsed is not (ModalMode.InProcess or ModalMode.Embedded or ModalMode.Remote))
                    {
                        error = $"--mode takes InProcess, Embedded or Remote, not '{mode}'.";
                        return null;
                    }
                    options = options with { Mode = parsed };
                    modeGiven = true;
                    break;
                case "--db":
                    if (!TryValue(args, ref i, out var database) || string.IsNullOrWhiteSpace(database))
                    {
                        error = "--db takes a SQLite file path (or a database URL the server accepts).";
                        return null;
                    }
                    options = options with { Database = database };
                    break;
                case "--replicas":
                    if (!TryValue(args, ref i, out var replicasText)
                        || !int.TryParse(replicasText, NumberStyles.None, CultureInfo.InvariantCulture, out var replicas) || replicas is < 1 or > 16)
                    {
                        error = $"--replicas takes a whole number from 1 to 16, not '{replicasText}'.";
                        return null;
                    }
                    options = options with { Replicas = replicas };
                    break;
                case "--calls" or "--warmup" or "--inputs" or "--repeat":
                    if (!TryValue(args, ref i, out var text) || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count)
                        || count < (name == "--warmup" ? 0 : 1))
                    {
                        error = $"{name} takes a whole number{(name == "--warmup" ? "" : " of at least 1")}, not '{text}'.";
                        return null;
                    }
                    options = name switch
                    {
                        "--calls" => options with { Calls = count },
                        "--warmup" => options with { Warmup = count },
                        "--repeat" => options with { Repeat = count },
                        _ => options with { Inputs = count },
                    };
                    break;
                case "--defaults":
                    options = options with { Function = "SquareDefaults" };
                    break;
                case "--function":
                    if (!TryValue(args, ref i, out var function) || !BenchTarget.Names.Contains(function))
                    {
                        error = $"--function takes {string.Join(", ", BenchTarget.Names)}, not '{function}'.";
                        return null;
                    }
                    options = options with { Function = function! };
                    break;
                case "--cold-map":
                    options = options with { ColdMap = true };
                    break;
                case "--allocations":
                    options = options with { Allocations = true };
                    break;
                case "--echo-only":
                    options = options with { EchoOnly = true };
                    break;
                case "--cold-start":
                    options = options with { ColdStart = true };
                    break;
                case "--kinds":
                    TryValue(args, ref i, out var kindsText);
                    var kinds = WorkerKinds.Parse(kindsText, out error);
                    if (kinds is null)
                    {
                        return null;
                    }
                    options = options with { Kinds = kinds };
                    break;
                case "--registry" or "--base-image":
                    if (!TryValue(args, ref i, out var image) || string.IsNullOrWhiteSpace(image))
                    {
                        error = name == "--registry" ? "--registry takes HOST:PORT, the registry the control plane pushes worker images to."
                            : "--base-image takes an image name, the .NET runtime image workers start from.";
                        return null;
                    }
                    options = name == "--registry" ? options with { Registry = image } : options with { BaseImage = image };
                    break;
                case "--json":
                    options = options with { Json = true };
                    break;
                default:
                    error = $"Unknown option '{name}'.";
                    return null;
            }
        }
        if (options.ColdStart)
        {
            return ValidateColdStart(options, modeGiven, out error);
        }
        if (options.Database is not null)
        {
            if (modeGiven && options.Mode != ModalMode.Remote)
            {
                error = $"--db starts a standalone control plane and calls it in Remote mode; it cannot be combined with --mode {options.Mode}.";
                return null;
            }
            options = options with { Mode = ModalMode.Remote };
        }
        if (options.Replicas > 1 && options.Database?.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) != true)
        {
            error = $"--replicas {options.Replicas} needs a PostgreSQL database: add --db postgresql://USER@HOST:PORT/DB (replicas cannot share a SQLite file).";
            return null;
        }
        return options;
    }

    /// <summary><c>--cold-start</c> starts its own control planes: no mode or database of the regular run goes with it.</summary>
    private static RunnerOptions? ValidateColdStart(RunnerOptions options, bool modeGiven, out string? error)
    {
        error = modeGiven || options.Database is not null || options.EchoOnly
            ? "--cold-start starts a standalone control plane of its own per kind: leave out --mode, --db and --echo-only."
            : options.Kinds.Any(WorkerKinds.InPodman) && options.Registry is null
            ? "--cold-start with the podman and podman-aot kinds needs --registry HOST:PORT (bench/cold-start starts a loopback one), or --kinds process."
            : null;
        if (error is not null)
        {
            return null;
        }
        // The control plane's own default (ControlPlaneCommandLine): the runtime image of its .NET version in its registry.
        return options.Registry is { } registry && options.BaseImage is null
            ? options with { BaseImage = $"{registry}/modal/dotnet-runtime:{Environment.Version}" }
            : options;
    }

    private static bool TryValue(string[] args, ref int i, out string? value)
    {
        value = i + 1 < args.Length ? args[++i] : null;
        return value is not null;
    }
}
