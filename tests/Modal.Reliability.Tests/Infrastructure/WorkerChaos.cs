namespace Modal.Reliability.Tests;

/// <summary>What <see cref="WorkerChaos"/> does to the worker it picks.</summary>
public enum ChaosAction
{
    /// <summary>SIGKILL: the worker dies at once, without reporting anything.</summary>
    Kill,

    /// <summary>SIGSTOP: the worker freezes; a moment later it is resumed (SIGCONT) or, one time in four, killed.</summary>
    Freeze,
}

/// <summary>
/// Breaks a random worker process every interval while a test runs: the workers are the descendants of a root process
/// (a control plane process, or this test process in embedded mode) started with <c>MODAL_WORKER=1</c>, whether they
/// are still starting or already running inputs. Disposing stops the chaos and resumes every worker still frozen.
/// </summary>
public sealed class WorkerChaos : IAsyncDisposable
{
    private readonly int _rootPid;
    private readonly ChaosAction _action;
    private readonly TimeSpan _interval;
    private readonly Random _random;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<ProcessEntry, long> _frozenUntil = [];
    private readonly HashSet<int> _seenWorkers = [];
    private readonly Task _loop;
    private int _killed;
    private int _frozen;
    private int _resumed;

    private WorkerChaos(int rootPid, ChaosAction action, TimeSpan interval, int seed)
    {
        _rootPid = rootPid;
        _action = action;
        _interval = interval;
        _random = new Random(seed);
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Workers killed so far (SIGKILL, including frozen ones killed instead of resumed).</summary>
    public int Killed => Volatile.Read(ref _killed);

    /// <summary>Workers frozen so far (SIGSTOP).</summary>
    public int Frozen => Volatile.Read(ref _frozen);

    /// <summary>Frozen workers resumed so far (SIGCONT).</summary>
    public int Resumed => Volatile.Read(ref _resumed);

    /// <summary>Distinct worker processes seen so far.</summary>
    public int WorkersSeen
    {
        get
        {
            lock (_seenWorkers)
            {
                return _seenWorkers.Count;
            }
        }
    }

    /// <summary>Starts breaking one random worker under <paramref name="rootPid"/> every <paramref name="interval"/>.</summary>
    public static WorkerChaos Start(int rootPid, ChaosAction action, TimeSpan interval, int seed = 6)
        => new(rootPid, action, interval, seed);

    /// <summary>What happened, for assertion messages.</summary>
    public override string ToString()
        => $"{WorkersSeen} workers seen, {Killed} killed, {Frozen} frozen, {Resumed} resumed";

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                Tick();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Tick()
    {
        var now = Environment.TickCount64;
        // Frozen workers whose time is up: most are resumed, some are killed while frozen.
        foreach (var (worker, until) in _frozenUntil.Where(f => f.Value <= now).ToList())
        {
            _frozenUntil.Remove(worker);
            if (_random.Next(4) == 0)
            {
                if (Signals.Send(worker, Signals.Kill))
                {
                    Interlocked.Increment(ref _killed);
                }
            }
            else if (Signals.Send(worker, Signals.Continue))
            {
                Interlocked.Increment(ref _resumed);
            }
        }
        var candidates = ProcessTree.Workers(_rootPid).Where(w => !_frozenUntil.ContainsKey(w)).ToList();
        lock (_seenWorkers)
        {
            _seenWorkers.UnionWith(candidates.Select(w => w.Pid));
        }
        if (candidates.Count == 0)
        {
            return;
        }
        var victim = candidates[_random.Next(candidates.Count)];
        if (_action == ChaosAction.Kill)
        {
            if (Signals.Send(victim, Signals.Kill))
            {
                Interlocked.Increment(ref _killed);
            }
        }
        else if (Signals.Send(victim, Signals.Stop))
        {
            Interlocked.Increment(ref _frozen);
            _frozenUntil[victim] = now + _random.Next(200, 3000);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        foreach (var worker in _frozenUntil.Keys)
        {
            if (Signals.Send(worker, Signals.Continue))
            {
                Interlocked.Increment(ref _resumed);
            }
        }
        _frozenUntil.Clear();
        _stop.Dispose();
    }
}
