namespace Modal;

/// <summary>What the worker loop knows about the code running now: the input it serves, if any.</summary>
internal static class WorkerContext
{
    private static readonly AsyncLocal<string?> s_currentInputId = new();

    /// <summary>The id of the input whose code is running on this async flow, or null outside inputs.</summary>
    public static string? CurrentInputId
    {
        get => s_currentInputId.Value;
        set => s_currentInputId.Value = value;
    }
}
