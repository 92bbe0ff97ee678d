namespace Modal;

/// <summary>A function's execution options, as its attributes set them.</summary>
public sealed record FunctionOptions
{
    /// <summary>The timeout used when none is set.</summary>
    public const int DefaultTimeoutSeconds = 300;
    /// <summary>The scaledown window used when none is set.</summary>
    public const int DefaultScaledownWindowSeconds = 60;
    /// <summary>The CPU reservation used when none is set.</summary>
    public const double DefaultCpu = 0.125;
    /// <summary>The memory reservation used when none is set.</summary>
    public const int DefaultMemoryMb = 128;

    /// <summary>The options of a function with no options set.</summary>
    public static FunctionOptions Default { get; } = new();

    /// <summary>Seconds an input may run.</summary>
    public int TimeoutSeconds { get; init; } = DefaultTimeoutSeconds;
    /// <summary>Containers kept running even when idle.</summary>
    public int MinContainers { get; init; }
    /// <summary>The most containers at once; <see cref="int.MaxValue"/> for no limit.</summary>
    public int MaxContainers { get; init; } = int.MaxValue;
    /// <summary>Idle containers kept beyond demand while busy.</summary>
    public int BufferContainers { get; init; }
    /// <summary>Seconds an idle container lives.</summary>
    public int ScaledownWindowSeconds { get; init; } = DefaultScaledownWindowSeconds;
    /// <summary>Inputs one container runs at once.</summary>
    public int MaxInputs { get; init; } = 1;
    /// <summary>CPU cores per container.</summary>
    public double Cpu { get; init; } = DefaultCpu;
    /// <summary>Memory per container, MiB.</summary>
    public int MemoryMb { get; init; } = DefaultMemoryMb;
    /// <summary>GPU request, or null.</summary>
    public string? Gpu { get; init; }
    /// <summary>Retries of user exceptions; <see cref="RetryPolicy.None"/> when not set.</summary>
    public RetryPolicy Retries { get; init; } = RetryPolicy.None;
    /// <summary>Batching, for <c>[Batched]</c> functions; otherwise null.</summary>
    public BatchOptions? Batch { get; init; }
}
