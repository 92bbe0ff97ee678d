namespace Modal.InProcess;

/// <summary>One input of a call: its status and the calls made while it ran.</summary>
internal sealed class InputRecord(string id, string functionCallId, string functionName)
{
    private readonly Lock _gate = new();
    private List<CallRecord>? _children;
    private int _status = (int)InputStatus.Pending;

    public string Id { get; } = id;

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
