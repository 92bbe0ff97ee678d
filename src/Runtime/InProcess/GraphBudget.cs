namespace Modal.InProcess;

/// <summary>
/// How many more inputs and child calls a spawned call's graph may record. Shared by the call and every call made
/// beneath it, so that a long map inside a spawned function does not keep every input for the app's life.
/// </summary>
internal sealed class GraphBudget(int entries)
{
    private int _left = entries;

    public bool TryTake()
    {
        while (true)
        {
            int left = Volatile.Read(ref _left);
            if (left <= 0)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _left, left - 1, left) == left)
            {
                return true;
            }
        }
    }
}
