namespace Modal.InProcess;

/// <summary>One input of a call: its status and the calls made while it ran.</summary>
/// <param name="id">The input's id.</param>
/// <param name="functionCallId">The call it belongs to.</param>
/// <param name="functionName">The function it runs.</param>
/// <param name="budget">The graph budget of its call when the input is recorded in a call graph, else null.</param>
internal sealed class InputRecord(string id, string functionCallId, string functionName, GraphBudget? budget)
{
    private readonly Lock _gate = new();
    private List<CallRecord>? _children;
    private int _status = (int)InputStatus.Pending;

    public string Id { get; } = id;

    /// <summary>The budget calls made inside this input are recorded within; null when the input is not recorded.</summary>
    public GraphBudget? Budget { get; } = budget;

    public InputStatus Status
    {
        get => (InputStatus)Volatile.Read(ref _status);
        set => Volatile.Write(ref _status, (int)value);
    }

    public void AddChild(CallRecord call)
    {
        lock (_gate)
        {
            (_children ??= []).Add(call);
        }
    }

    public InputInfo Snapshot()
    {
        CallRecord[] children;
        lock (_gate)
        {
            children = _children is null ? [] : [.. _children];
        }
        var childInputs = new List<InputInfo>();
        foreach (var child in children)
        {
            childInputs.AddRange(child.Snapshot());
        }
        return new InputInfo(Id, functionCallId, functionName, Status, childInputs);
    }
}
