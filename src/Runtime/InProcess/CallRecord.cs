namespace Modal.InProcess;

/// <summary>
/// A function call: its id, a cancellation source for <c>CancelAsync</c>, and, when the call can be reached
/// (spawned, or made from inside a recorded input), its inputs for the call graph, within the graph's budget.
/// Calls nobody can reach keep no inputs, so that a long map does not grow memory.
/// </summary>
internal sealed class CallRecord
{
    private readonly CancellationTokenSource _cancellation = new();
    private readonly GraphBudget? _budget;
    private readonly List<InputRecord>? _inputs;

    /// <param name="id">The call's id.</param>
    /// <param name="functionName">The function it calls.</param>
    /// <param name="budget">The graph budget its inputs are recorded within; null for a call nobody can reach.</param>
    public CallRecord(string id, string functionName, GraphBudget? budget)
    {
        Id = id;
        FunctionName = functionName;
        _budget = budget;
        _inputs = budget is null ? null : [];
    }

    public string Id { get; }

    public string FunctionName { get; }

    /// <summary>Cancelled by <see cref="Cancel"/>.</summary>
    public CancellationToken CancellationToken => _cancellation.Token;

    /// <summary>The output of a spawned call's single input; for a spawned map, nil once every input has ended.</summary>
    public Task<ReadOnlyMemory<byte>>? Result { get; set; }

    /// <summary>The outputs of a spawned map's inputs, by index; null for other calls.</summary>
    public Task<ReadOnlyMemory<byte>>[]? MapResults { get; set; }

    public InputRecord AddInput()
    {
        bool recorded = _budget is not null && _budget.TryTake();
        var input = new InputRecord(Ids.NewInputId(), Id, FunctionName, recorded ? _budget : null);
        if (recorded)
        {
            lock (_inputs!)
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
