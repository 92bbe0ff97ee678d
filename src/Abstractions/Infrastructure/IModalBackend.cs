using System.ComponentModel;

namespace Modal;

/// <summary>
/// An execution mode: where calls go (this process, an embedded control plane, a remote one).
/// Handles and <see cref="FunctionCall"/> talk only to this; payloads are MessagePack bytes.
/// Failures are thrown as <see cref="ModalException"/> subclasses.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IModalBackend
{
    /// <summary>The name of the app this backend runs, if any; used for handles that name no app.</summary>
    string? RunningAppName { get; }

    /// <summary>
    /// True when the running app serves this compiled function, whatever name it runs under. Handles of functions it
    /// does not serve (another app's, compiled into the same process) resolve to their own app instead. The default
    /// matches the function's compiled app name; a backend whose app can be renamed (<c>ModalAppOptions.AppName</c>)
    /// overrides it.
    /// </summary>
    bool Runs(FunctionDefinition definition)
        => string.Equals(definition?.DefaultAppName, RunningAppName, StringComparison.Ordinal);

    /// <summary>Resolves the function on the control plane and returns its object id.</summary>
    Task<string> HydrateAsync(FunctionReference function, CancellationToken cancellationToken);

    /// <summary>Runs one input and returns its encoded output.</summary>
    Task<ReadOnlyMemory<byte>> CallAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken);

    /// <summary>Starts one input and returns the function call's id.</summary>
    Task<string> SpawnAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken);

    /// <summary>
    /// Runs every input (each an encoded argument array), with bounded inputs outstanding, and yields each
    /// output once, in input order when <paramref name="orderOutputs"/> is true, else as they complete.
    /// </summary>
    IAsyncEnumerable<MapOutput> MapAsync(FunctionReference function, IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, bool orderOutputs, CancellationToken cancellationToken);

    /// <summary>
    /// Sends every input (each an encoded argument array) as one call that runs on without the caller (Modal's
    /// <c>spawn_map</c>), and returns the call's id once every input is committed.
    /// </summary>
    Task<string> SpawnMapAsync(FunctionReference function, IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, CancellationToken cancellationToken);

    /// <summary>How many inputs a call has.</summary>
    Task<int> GetCallInputCountAsync(string functionCallId, CancellationToken cancellationToken);

    /// <summary>
    /// Every output of a call, each once, as they complete (waiting for those not yet there), until every input has one.
    /// Outputs are kept, so a second reader sees them all again.
    /// </summary>
    IAsyncEnumerable<MapOutput> GetCallOutputsAsync(string functionCallId, CancellationToken cancellationToken);

    /// <summary>Runs a generator function and yields its encoded items as they are produced.</summary>
    IAsyncEnumerable<ReadOnlyMemory<byte>> CallGeneratorAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken);

    /// <summary>
    /// Waits for a spawned call's output. Null waits without limit; <see cref="TimeSpan.Zero"/> polls once;
    /// throws <see cref="TimeoutException"/> when there is no output in time (the call goes on).
    /// </summary>
    Task<ReadOnlyMemory<byte>> GetCallOutputAsync(string functionCallId, TimeSpan? timeout, CancellationToken cancellationToken);

    /// <summary>Cancels a call's unfinished inputs; they end as <see cref="InputStatus.Terminated"/>.</summary>
    Task CancelCallAsync(string functionCallId, bool terminateContainers, CancellationToken cancellationToken);

    /// <summary>The inputs of a call and, recursively, the calls they made.</summary>
    Task<IReadOnlyList<InputInfo>> GetCallGraphAsync(string functionCallId, CancellationToken cancellationToken);

    /// <summary>The function's backlog and runner count.</summary>
    Task<FunctionStats> GetCurrentStatsAsync(FunctionReference function, CancellationToken cancellationToken);

    /// <summary>Keeps that many containers warm.</summary>
    Task KeepWarmAsync(FunctionReference function, int warmPoolSize, CancellationToken cancellationToken);

    /// <summary>
    /// Lays the given autoscaler settings (each checked against its range) over the function's; null keeps a setting. Throws
    /// <see cref="ArgumentException"/> when the minimum would be above the maximum.
    /// </summary>
    Task UpdateAutoscalerAsync(FunctionReference function, int? minContainers, int? maxContainers, int? bufferContainers, int? scaledownWindowSeconds,
        CancellationToken cancellationToken);
}
