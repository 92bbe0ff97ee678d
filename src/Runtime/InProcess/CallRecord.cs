namespace Modal.InProcess;

/// <summary>
/// A function call: its id, a cancellation source for <c>CancelAsync</c>, and, when the call can be reached
/// (spawned, or made from inside an input), its inputs for the call graph. Calls nobody can reach keep no inputs,
/// so that a long map does not grow memory.
/// </summary>
internal sealed class CallRecord
{
    private readonly CancellationTokenSource _cancellation = new();
    private readonly List<InputRecord>? _inputs;

    public CallRecord(string id, string functionName, bool tracked)
    {
        Id = id;
        FunctionName = functionName;
        _inputs = tracked ? [] : null;
    }

    public string Id { get; }

    public string FunctionName { get; }

    /// <summary>Cancelled by <see cref="Cancel"/>.</summary>
    public CancellationToken CancellationToken => _cancellation.Token;

    /// <summary>The output of a spawned call's single input.</summary>
    public Task<ReadOnlyMemory<byte>>? Result { get; set; }

    public InputRecord AddInput()
    {
        var input = new InputRecord(Ids.NewInputId(), Id, FunctionName);
        if (_inputs is not null)
        {
            lock (_inputs)
            {
                _inputs.Add(input);
            }
        }
        return input;
    }

    public void Cancel() => _cancellation.Cancel();

    public IReadOnlyList<InputInfo> Snapshot()
    {
        if (_inputs is null)
        {
            return [];
        }
        InputRecord[] inputs;
        lock (_inputs)
        {
            inputs = [.. _inputs];
        }
        return Array.ConvertAll(inputs, input => input.Snapshot());
    }
}
