using System.Collections.Concurrent;
using System.Threading.Channels;
using Modal.Server.Launching;

namespace Modal.Server.Tests.Infrastructure;

/// <summary>Starts real processes (LocalProcessLauncher) and records what was launched, so a test can act as the worker.</summary>
public sealed class RecordingLauncher : IContainerLauncher
{
    private readonly LocalProcessLauncher _inner = new();
    private readonly Channel<ContainerLaunchRequest> _launched = Channel.CreateUnbounded<ContainerLaunchRequest>();

    public ConcurrentDictionary<string, IContainerHandle> Handles { get; } = new();

    public int LaunchCount => Handles.Count;

    public LauncherCapacity Capacity => _inner.Capacity;

    public async Task<IContainerHandle> LaunchAsync(ContainerLaunchRequest request, CancellationToken cancellationToken)
    {
        var handle = await _inner.LaunchAsync(request, cancellationToken);
        Handles[request.ContainerId] = handle;
        _launched.Writer.TryWrite(request);
        return handle;
    }

    /// <summary>The next launched container, or a TimeoutException.</summary>
    public async Task<ContainerLaunchRequest> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await _launched.Reader.ReadAsync(cts.Token);
    }

    public bool TryNext(out ContainerLaunchRequest? request) => _launched.Reader.TryRead(out request);
}
