namespace Modal.InProcess;

/// <summary>
/// The inputs whose function is running on this logical flow (one, or every input of a batch), so that calls made
/// from inside a function become their children in the call graph.
/// </summary>
internal static class CurrentInput
{
    private static readonly AsyncLocal<IReadOnlyList<InputRecord>?> s_current = new();

    public static IReadOnlyList<InputRecord>? Value
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }
}
