namespace Modal.InProcess;

/// <summary>
/// The input whose function is running on this logical flow, so that calls made from inside a function become
/// its children in the call graph.
/// </summary>
internal static class CurrentInput
{
    private static readonly AsyncLocal<InputRecord?> s_current = new();

    public static InputRecord? Value
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }
}
