using System.ComponentModel;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Modal;

/// <summary>
/// The options a handle's variant overrides (<c>WithOptions</c>, <c>WithConcurrency</c>, <c>WithBatching</c>); null keeps
/// the declared value. Each distinct variant runs in its own container pool and autoscales on its own; <see cref="Key"/>
/// tells variants apart.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed partial record FunctionVariant
{
    /// <summary>No override.</summary>
    public static FunctionVariant None { get; } = new();

    /// <summary>Seconds an input may run.</summary>
    public int? TimeoutSeconds { get; init; }

    /// <summary>The retry policy; <see cref="RetryPolicy.None"/> clears the declared one.</summary>
    public RetryPolicy? Retries { get; init; }

    /// <summary>Containers kept running at least.</summary>
    public int? MinContainers { get; init; }

    /// <summary>Containers at most.</summary>
    public int? MaxContainers { get; init; }

    /// <summary>Idle containers kept beyond the demand.</summary>
    public int? BufferContainers { get; init; }

    /// <summary>Seconds an idle container lives.</summary>
    public int? ScaledownWindowSeconds { get; init; }

    /// <summary>CPU cores a container requests.</summary>
    public double? Cpu { get; init; }

    /// <summary>Memory a container requests, in MiB.</summary>
    public int? MemoryMb { get; init; }

    /// <summary>The GPU a container requests.</summary>
    public string? Gpu { get; init; }

    /// <summary>Variables added to a container's environment, as <c>NAME=value</c> lines sorted by name; null for none.</summary>
    public string? Environment { get; init; }

    /// <summary>Inputs one container runs at once.</summary>
    public int? MaxInputs { get; init; }

    /// <summary>Inputs per container the autoscaler aims for.</summary>
    public int? TargetInputs { get; init; }

    /// <summary>How inputs of a batched function are grouped.</summary>
    public BatchOptions? Batch { get; init; }

    /// <summary>
    /// A <c>[Cls]</c> instance's parameter set, base64 of the MessagePack map <see cref="ClsCodec"/> writes; null for a
    /// function, or a class without parameters. Each distinct set runs in its own container pool, where every instance
    /// is created with these values.
    /// </summary>
    public string? Parameters { get; init; }

    /// <summary>The parameter set as text (<c>Name="x", Size=3</c>), for messages and pool names; null without parameters.</summary>
    public string? ParametersText { get; init; }

    /// <summary>The encoded parameter set (see <see cref="Parameters"/>); empty without one.</summary>
    public ReadOnlyMemory<byte> ParameterPayload => Parameters is null ? ReadOnlyMemory<byte>.Empty : Convert.FromBase64String(Parameters);

    /// <summary>True when nothing is overridden.</summary>
    public bool IsEmpty => this == None;

    /// <summary>
    /// A text that is equal for equal variants and tells different ones apart (a pool's name, the control plane's variant key):
    /// <see cref="ToString"/>, or its SHA-256 when that is longer than 256 characters or holds control characters.
    /// </summary>
    public string Key
    {
        get
        {
            var text = ToString();
            return text.Length <= 256 && !text.Any(char.IsControl)
                ? text
                : "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        }
    }

    /// <summary>The overrides as named arguments (<c>timeoutSeconds: 1, maxInputs: 4</c>); "no overrides" for none.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        void Add(string name, object? value)
        {
            if (value is not null)
            {
                parts.Add($"{name}: {Convert.ToString(value, CultureInfo.InvariantCulture)}");
            }
        }
        Add("parameters", ParametersText is null ? null : "(" + ParametersText + ")");
        Add("timeoutSeconds", TimeoutSeconds);
        Add("retries", Retries is { } policy
            ? string.Create(CultureInfo.InvariantCulture, $"{policy.MaxRetries}x{policy.InitialDelayMs}ms*{policy.BackoffCoefficient}<={policy.MaxDelayMs}ms")
            : null);
        Add("minContainers", MinContainers);
        Add("maxContainers", MaxContainers);
        Add("bufferContainers", BufferContainers);
        Add("scaledownWindowSeconds", ScaledownWindowSeconds);
        Add("cpu", Cpu);
        Add("memoryMb", MemoryMb);
        Add("gpu", Gpu);
        // Escaped, so that no two environments read the same: "A=1;B=2" is two variables, "A=1\;B=2" one.
        Add("environment", Environment?.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(";", "\\;", StringComparison.Ordinal)
            .TrimEnd('\n').Replace('\n', ';'));
        Add("maxInputs", MaxInputs);
        Add("targetInputs", TargetInputs);
        Add("batch", Batch);
        return parts.Count == 0 ? "no overrides" : string.Join(", ", parts);
    }

    /// <summary>The declared options with this variant's overrides.</summary>
    public FunctionOptions ApplyTo(FunctionOptions declared)
    {
        ArgumentNullException.ThrowIfNull(declared);
        return declared with
        {
            TimeoutSeconds = TimeoutSeconds ?? declared.TimeoutSeconds,
            Retries = Retries ?? declared.Retries,
            MinContainers = MinContainers ?? declared.MinContainers,
            MaxContainers = MaxContainers ?? declared.MaxContainers,
            BufferContainers = BufferContainers ?? declared.BufferContainers,
            ScaledownWindowSeconds = ScaledownWindowSeconds ?? declared.ScaledownWindowSeconds,
            Cpu = Cpu ?? declared.Cpu,
            MemoryMb = MemoryMb ?? declared.MemoryMb,
            Gpu = Gpu ?? declared.Gpu,
            MaxInputs = MaxInputs ?? declared.MaxInputs,
            Batch = Batch ?? declared.Batch,
        };
    }

    /// <summary>
    /// This variant with the options of <c>WithOptions</c> laid over it, each checked against the same ranges as the
    /// attributes' (the generator's MODAL012, MODAL013, MODAL015).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range.</exception>
    /// <exception cref="ArgumentException">The GPU or an environment variable is not valid.</exception>
    public FunctionVariant WithOptions(FunctionOptions declared, int? timeoutSeconds, RetryPolicy? retries, int? minContainers, int? maxContainers,
        int? bufferContainers, int? scaledownWindowSeconds, double? cpu, int? memoryMb, string? gpu, IReadOnlyDictionary<string, string>? environment)
    {
        ArgumentNullException.ThrowIfNull(declared);
        InRange(timeoutSeconds, 1, 86400, nameof(timeoutSeconds));
        InRange(minContainers, 0, int.MaxValue, nameof(minContainers));
        InRange(maxContainers, 0, int.MaxValue, nameof(maxContainers));
        InRange(bufferContainers, 0, int.MaxValue, nameof(bufferContainers));
        InRange(scaledownWindowSeconds, 1, int.MaxValue, nameof(scaledownWindowSeconds));
        InRange(memoryMb, 1, int.MaxValue, nameof(memoryMb));
        if (cpu is { } cores && (!(cores > 0) || double.IsInfinity(cores)))
        {
            throw new ArgumentOutOfRangeException(nameof(cpu), cores, "cpu must be greater than 0.");
        }
        if (gpu is not null && !GpuPattern().IsMatch(gpu))
        {
            throw new ArgumentException($"gpu is \"{gpu}\"; it must be a GPU type, optionally with a count, like \"T4\", \"A100\" or \"H100:8\".", nameof(gpu));
        }
        var variant = this with
        {
            TimeoutSeconds = timeoutSeconds ?? TimeoutSeconds,
            Retries = retries ?? Retries,
            MinContainers = minContainers ?? MinContainers,
            MaxContainers = maxContainers ?? MaxContainers,
            BufferContainers = bufferContainers ?? BufferContainers,
            ScaledownWindowSeconds = scaledownWindowSeconds ?? ScaledownWindowSeconds,
            Cpu = cpu ?? Cpu,
            MemoryMb = memoryMb ?? MemoryMb,
            Gpu = gpu ?? Gpu,
            Environment = environment is null ? Environment : MergeEnvironment(Environment, environment),
        };
        var effective = variant.ApplyTo(declared);
        if (effective.MinContainers > effective.MaxContainers)
        {
            throw new ArgumentOutOfRangeException(minContainers is null ? nameof(maxContainers) : nameof(minContainers),
                $"minContainers ({effective.MinContainers}) is greater than maxContainers ({effective.MaxContainers}); lower minContainers or raise maxContainers.");
        }
        return variant;
    }

    /// <summary>This variant running <paramref name="maxInputs"/> inputs per container at once (<c>WithConcurrency</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxInputs"/> is below 1, or <paramref name="targetInputs"/> is not between 1 and it.</exception>
    public FunctionVariant WithConcurrency(int maxInputs, int? targetInputs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInputs, 1);
        if (targetInputs is { } target && (target < 1 || target > maxInputs))
        {
            throw new ArgumentOutOfRangeException(nameof(targetInputs), target, $"targetInputs must be between 1 and maxInputs ({maxInputs}).");
        }
        return this with { MaxInputs = maxInputs, TargetInputs = targetInputs };
    }

    /// <summary>This variant grouping inputs into batches of up to <paramref name="maxBatchSize"/>, waiting up to <paramref name="waitMs"/> (<c>WithBatching</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBatchSize"/> is not 1..1000 or <paramref name="waitMs"/> not 0..600000.</exception>
    public FunctionVariant WithBatching(int maxBatchSize, int waitMs)
    {
        InRange(maxBatchSize, 1, 1000, nameof(maxBatchSize));
        InRange(waitMs, 0, 600000, nameof(waitMs));
        return this with { Batch = new BatchOptions(maxBatchSize, waitMs) };
    }

    /// <summary>Checks the arguments of <c>UpdateAutoscalerAsync</c> against the ranges of the attribute's options.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of its range, or the minimum is above the maximum.</exception>
    internal static void CheckAutoscaler(int? minContainers, int? maxContainers, int? bufferContainers, int? scaledownWindowSeconds)
    {
        InRange(minContainers, 0, 10_000, nameof(minContainers));
        InRange(maxContainers, 1, 10_000, nameof(maxContainers));
        InRange(bufferContainers, 0, 10_000, nameof(bufferContainers));
        InRange(scaledownWindowSeconds, 1, 86_400, nameof(scaledownWindowSeconds));
        if (minContainers > maxContainers)
        {
            throw new ArgumentOutOfRangeException(nameof(minContainers), minContainers,
                $"minContainers ({minContainers}) is greater than maxContainers ({maxContainers}); lower minContainers or raise maxContainers.");
        }
    }

    private static readonly string[] ReservedPrefixes = ["DOTNET_", "CORECLR_", "COMPlus_", "LD_", "MODAL_"];

    private static void InRange(int? value, int minimum, int maximum, string name)
    {
        if (value is { } number && (number < minimum || number > maximum))
        {
            throw new ArgumentOutOfRangeException(name, number, maximum == int.MaxValue
                ? $"{name} must be at least {minimum.ToString(CultureInfo.InvariantCulture)}."
                : $"{name} must be between {minimum.ToString(CultureInfo.InvariantCulture)} and {maximum.ToString(CultureInfo.InvariantCulture)}.");
        }
    }

    /// <summary>The variables as sorted <c>NAME=value</c> lines, later ones winning; names of the runtime and loader are refused.</summary>
    private static string MergeEnvironment(string? existing, IReadOnlyDictionary<string, string> added)
    {
        var merged = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in (existing ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            merged[line[..equals]] = line[(equals + 1)..];
        }
        foreach (var (name, value) in added)
        {
            if (string.IsNullOrEmpty(name) || name.Contains('=', StringComparison.Ordinal) || name.Contains('\n', StringComparison.Ordinal)
                || value is null || value.Contains('\n', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Environment variable '{name}' is not valid: a name is non-empty without '=' or a line break, and a value is a single line.", "environment");
            }
            if (ReservedPrefixes.FirstOrDefault(prefix => name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) is { } reserved)
            {
                throw new ArgumentException($"Environment variable '{name}' cannot be set on a variant: {reserved}* variables belong to the runtime, " +
                    "the loader or Modal (DOTNET_*, CORECLR_*, COMPlus_*, LD_* and MODAL_* control the worker).", "environment");
            }
            merged[name] = value;
        }
        var text = new StringBuilder();
        foreach (var (name, value) in merged)
        {
            text.Append(name).Append('=').Append(value).Append('\n');
        }
        return text.ToString();
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9-]*(:[1-9][0-9]*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex GpuPattern();
}
