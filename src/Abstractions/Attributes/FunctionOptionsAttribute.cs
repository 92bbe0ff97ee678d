namespace Modal;

/// <summary>
/// The execution options that <see cref="FunctionAttribute"/> and <see cref="ClsAttribute"/> share. Options left unset
/// take the control plane's defaults; the generator checks every set value's range.
/// </summary>
public abstract class FunctionOptionsAttribute : Attribute
{
    /// <summary>Seconds an input may run before it ends as a timeout (1..86400; default 300).</summary>
    public int TimeoutSeconds { get; set; } = FunctionOptions.DefaultTimeoutSeconds;

    /// <summary>Containers kept running even with no inputs (default 0).</summary>
    public int MinContainers { get; set; }

    /// <summary>The most containers that run this function (or one parameter set of a class) at once (default: no limit).</summary>
    public int MaxContainers { get; set; } = int.MaxValue;

    /// <summary>Idle containers kept beyond current demand while the function is busy (default 0).</summary>
    public int BufferContainers { get; set; }

    /// <summary>Seconds an idle container waits for new inputs before it stops (default 60).</summary>
    public int ScaledownWindowSeconds { get; set; } = FunctionOptions.DefaultScaledownWindowSeconds;

    /// <summary>Inputs one container runs concurrently (at least 1; default 1).</summary>
    public int MaxInputs { get; set; } = 1;

    /// <summary>CPU cores reserved for each container (default 0.125).</summary>
    public double Cpu { get; set; } = FunctionOptions.DefaultCpu;

    /// <summary>Memory in MiB reserved for each container (default 128).</summary>
    public int MemoryMb { get; set; } = FunctionOptions.DefaultMemoryMb;

    /// <summary>GPU request such as <c>"T4"</c>, <c>"A100"</c> or <c>"H100:8"</c> (type, optionally <c>:count</c>).</summary>
    public string? Gpu { get; set; }
}
