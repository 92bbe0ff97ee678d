namespace Modal.Conformance;

/// <summary>What one call of a <see cref="Counter"/> method saw on its instance.</summary>
public sealed record CounterState(string Label, int Size, string InstanceId, int Count, int Entered);

/// <summary>
/// A class with state for the conformance suite. Each instance has an id; [Enter] and [Exit] append it to the files
/// <c>enter</c> and <c>exit</c> in <see cref="Directory"/>, which the test reads from any process. A parameter set with
/// <see cref="FailEnter"/> throws in [Enter].
/// </summary>
[Cls(MaxContainers = 1, ScaledownWindowSeconds = 2)]
public partial class Counter
{
    private readonly string _instanceId = Guid.NewGuid().ToString("N");
    private int _count;
    private int _entered;

    [Parameter] public string Directory { get; init; } = "";

    [Parameter] public string Label { get; init; } = "base";

    [Parameter] public int Size { get; init; } = 1;

    [Parameter] public bool FailEnter { get; init; } = false;

    [Enter]
    public async Task EnterAsync(CancellationToken cancellationToken)
    {
        await File.AppendAllTextAsync(Path.Combine(Directory, "enter"), _instanceId + "\n", cancellationToken);
        _entered++;
        if (FailEnter)
        {
            throw new InvalidOperationException($"Counter '{Label}' cannot load.");
        }
    }

    /// <summary>Counts the calls this instance has served.</summary>
    [Method]
    public CounterState Increment() => new(Label, Size, _instanceId, ++_count, _entered);

    /// <summary>Holds the instance's only container for a while.</summary>
    [Method]
    public async Task<string> HoldAsync(int milliseconds, CancellationToken cancellationToken)
    {
        await Task.Delay(milliseconds, cancellationToken);
        return _instanceId;
    }

    /// <summary>A generator method: the label's characters, one by one.</summary>
    [Method]
    public async IAsyncEnumerable<string> Spell([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var letter in Label)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return letter.ToString();
        }
    }

    [Exit]
    public void Exit() => File.AppendAllText(Path.Combine(Directory, "exit"), _instanceId + "\n");
}
