namespace Modal.InProcess;

/// <summary>
/// The containers of one <c>[Cls]</c> parameter set, as the in-process mode runs them: each container is one instance of
/// the class, entered once before its first input and serving up to <c>MaxInputs</c> inputs at once; a container idle for
/// the scaledown window is stopped (its <c>[Exit]</c> runs) unless the pool keeps it warm, and every container is stopped
/// the same way when the app stops. A container whose creation or <c>[Enter]</c> throws fails; after
/// <see cref="FailuresBeforeInitFailure"/> such failures in a row an input ends as <c>InitFailure</c> with that exception,
/// as in the remote modes.
/// </summary>
internal sealed class ClsPool : IAsyncDisposable
{
    /// <summary>Container start failures in a row after which inputs fail (the control plane's number).</summary>
    public const int FailuresBeforeInitFailure = 3;

    private static readonly TimeSpan s_exitLimit = TimeSpan.FromSeconds(30);

    private readonly IClsEntrypoint _cls;
    private readonly ReadOnlyMemory<byte> _parameters;
    private readonly FunctionOptions _options;
    private readonly CancellationToken _appStopping;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly List<Container> _containers = [];
    private readonly SemaphoreSlim _starting = new(1, 1);
    private int _failuresInARow;
    private string? _lastFailure;
    private int _warm;
    private Task? _scaledown;
    private bool _stopped;

    public ClsPool(IClsEntrypoint cls, ReadOnlyMemory<byte> parameters, FunctionOptions options, TimeProvider time, CancellationToken appStopping)
    {
        _cls = cls;
        _parameters = parameters;
        _options = options;
        _time = time;
        _appStopping = appStopping;
    }

    /// <summary>The containers running now (entered, not stopped).</summary>
    public int Containers
    {
        get
        {
            lock (_gate)
            {
                return _containers.Count;
            }
        }
    }

    /// <summary>
    /// Runs one input on a container with a free slot, starting (and entering) one when none has. The caller holds one
    /// of the function's <c>MaxContainers * MaxInputs</c> slots, so a container is free or may be started.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<IClsInstance, Task<T>> invoke, CancellationToken cancellationToken)
    {
        var container = TryTakeFree() ?? await StartAsync(forInput: true, cancellationToken).ConfigureAwait(false);
        try
        {
            return await invoke(container.Instance).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                container.Active--;
                container.IdleSince = _time.GetTimestamp();
            }
        }
    }

    /// <summary>Keeps <paramref name="count"/> containers (at least <c>MinContainers</c>) running, starting them now.</summary>
    public async Task KeepWarmAsync(int count, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _warm, count);
        EnsureScaledown();
        int wanted = Math.Min(Math.Max(count, _options.MinContainers), Math.Max(1, _options.MaxContainers));
        while (Containers < wanted && !_appStopping.IsCancellationRequested)
        {
            await StartAsync(forInput: false, cancellationToken).ConfigureAwait(false);
        }
    }

    private Container? TryTakeFree()
    {
        lock (_gate)
        {
            foreach (var container in _containers)
            {
                if (container.Active < Math.Max(1, _options.MaxInputs))
                {
                    container.Active++;
                    return container;
                }
            }
            return null;
        }
    }

    /// <summary>
    /// Starts a container, taking a slot of it when it starts for an input: creates the instance and runs its [Enter]. One start at a time, so that
    /// inputs arriving together wait for the container being entered instead of each starting one; a failed start is
    /// retried (as the control plane relaunches) until starts have failed <see cref="FailuresBeforeInitFailure"/> times in
    /// a row, and from then on each input that finds no container tries one start and, when it fails too, ends as
    /// InitFailure (a keep-warm start stops trying).
    /// </summary>
    private async Task<Container> StartAsync(bool forInput, CancellationToken cancellationToken)
    {
        EnsureScaledown();
        while (true)
        {
            await _starting.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (forInput && TryTakeFree() is { } free)
                {
                    return free;
                }
                IClsInstance instance;
                try
                {
                    instance = _cls.CreateInstance(_parameters);
                    await instance.EnterAsync(_appStopping).ConfigureAwait(false);
                }
                catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
                {
                    string reason = ClsStartup.Describe(_cls.Definition, exception);
                    Hosting.ModalLog.ClsEnterFailed(_cls.Definition.Name, reason);
                    int failures = Interlocked.Increment(ref _failuresInARow);
                    Volatile.Write(ref _lastFailure, reason);
                    if (failures >= FailuresBeforeInitFailure)
                    {
                        throw new ClsInitFailure(RemoteFailures.InitFailure(_cls.Definition.Name, Math.Max(failures, FailuresBeforeInitFailure), reason));
                    }
                    continue;
                }
                Interlocked.Exchange(ref _failuresInARow, 0);
                // A container started for an input holds that input's slot; one kept warm is idle from the moment it is
                // added, so an input that waited for this start finds it free.
                var container = new Container(instance) { Active = forInput ? 1 : 0, IdleSince = _time.GetTimestamp() };
                lock (_gate)
                {
                    if (_stopped)
                    {
                        container.Active = 0;
                        _ = ExitAsync(container);
                        throw new OperationCanceledException(_appStopping);
                    }
                    _containers.Add(container);
                }
                return container;
            }
            finally
            {
                _starting.Release();
            }
        }
    }

    private void EnsureScaledown()
    {
        lock (_gate)
        {
            _scaledown ??= Task.Run(ScaledownLoopAsync, CancellationToken.None);
        }
    }

    /// <summary>Stops containers idle for the scaledown window beyond those kept warm, one sweep a second at most.</summary>
    private async Task ScaledownLoopAsync()
    {
        var window = TimeSpan.FromSeconds(Math.Max(1, _options.ScaledownWindowSeconds));
        var period = window < TimeSpan.FromSeconds(1) ? window : TimeSpan.FromMilliseconds(Math.Min(1000, window.TotalMilliseconds / 2));
        try
        {
            while (!_appStopping.IsCancellationRequested)
            {
                await Task.Delay(period, _time, _appStopping).ConfigureAwait(false);
                var idle = new List<Container>();
                lock (_gate)
                {
                    int keep = Math.Max(Volatile.Read(ref _warm), _options.MinContainers);
                    foreach (var container in _containers.ToList())
                    {
                        if (_containers.Count <= keep)
                        {
                            break;
                        }
                        if (container.Active == 0 && _time.GetElapsedTime(container.IdleSince) >= window)
                        {
                            _containers.Remove(container);
                            idle.Add(container);
                        }
                    }
                }
                foreach (var container in idle)
                {
                    await ExitAsync(container).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_appStopping.IsCancellationRequested)
        {
            // The app stops; DisposeAsync stops the containers.
        }
    }

    /// <summary>A graceful stop: the container's [Exit] runs; what it throws goes to the log, as a worker's stderr would.</summary>
    private async Task ExitAsync(Container container)
    {
        try
        {
            using var limit = new CancellationTokenSource(s_exitLimit);
            await container.Instance.ExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            Hosting.ModalLog.ClsExitFailed(_cls.Definition.Name, exception);
        }
    }

    /// <summary>Stops every container once its inputs have ended (they end promptly: the app's token is cancelled).</summary>
    public async ValueTask DisposeAsync()
    {
        List<Container> containers;
        Task? scaledown;
        lock (_gate)
        {
            _stopped = true;
            containers = [.. _containers];
            _containers.Clear();
            scaledown = _scaledown;
        }
        foreach (var container in containers)
        {
            var deadline = _time.GetTimestamp();
            while (Volatile.Read(ref container.Active) > 0 && _time.GetElapsedTime(deadline) < s_exitLimit)
            {
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
            }
            await ExitAsync(container).ConfigureAwait(false);
        }
        if (scaledown is not null)
        {
            await scaledown.ConfigureAwait(false);
        }
    }

    private sealed class Container(IClsInstance instance)
    {
        public IClsInstance Instance { get; } = instance;

        /// <summary>Inputs running on it (and a start in progress); guarded by the pool's lock.</summary>
        public int Active;

        public long IdleSince;
    }
}

/// <summary>A pool could not start a container 3 times in a row: the input ends as InitFailure with <see cref="Failure"/>.</summary>
internal sealed class ClsInitFailure(RemoteFunctionException failure) : Exception(failure.Message)
{
    public RemoteFunctionException Failure { get; } = failure;
}
