using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace Modal;

/// <summary>
/// A Modal function: a generated typed handle (<c>MyType.Functions.MyMethod</c>) or an <see cref="UntypedFunction"/>
/// from <see cref="FromName"/>. Calls go to the backend of the running app (<c>ModalApp.RunAsync</c>). This base has no
/// call that takes untyped arguments: a typed handle's calls are checked at compile time.
/// </summary>
public abstract class Function
{
    /// <summary>Creates a handle; generated handles pass their own reference.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected Function(FunctionReference reference)
        => Reference = reference ?? throw new ArgumentNullException(nameof(reference));

    /// <summary>Which function this handle calls.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public FunctionReference Reference { get; }

    /// <summary>The app the function belongs to.</summary>
    public string AppName => Reference.ResolveAppName(ModalBackend.TryGetCurrent());

    /// <summary>The function's remote name.</summary>
    public string Name => Reference.Name;

    /// <summary>The control plane's id for the function; set once hydrated.</summary>
    public string? ObjectId { get; private set; }

    /// <summary>The URL of a web endpoint function; null, since no function here is a web endpoint.</summary>
    public string? WebUrl => null;

    /// <summary>The backend calls go to.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected static IModalBackend Backend => ModalBackend.Current;

    /// <summary>Resolves the function against the control plane now (Modal's <c>hydrate</c>).</summary>
    /// <exception cref="NotFoundException">No such app or function.</exception>
    public async Task HydrateAsync(CancellationToken cancellationToken = default)
        => ObjectId = await Backend.HydrateAsync(Reference, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// A lazy reference to a deployed function (Modal's <c>from_name</c>), called with untyped arguments. Unknown
    /// names throw <see cref="NotFoundException"/> at first use. A function compiled into this app has a typed handle
    /// (<c>MyType.Functions.MyMethod</c>, or <c>.WithApp(appName)</c> for another app's deployment) that checks
    /// arguments and results at compile time; prefer it.
    /// </summary>
    /// <param name="appName">The deployed app's name.</param>
    /// <param name="name">The function's remote name.</param>
    /// <param name="environmentName">Reserved for environments; only the default environment exists.</param>
    /// <param name="version">
    /// A deployed version of the app (1, 2, 3...; each deploy makes one) to pin every call to; null for the newest version
    /// at the time each call is created. An unknown version throws <see cref="NotFoundException"/> at first use, naming the
    /// versions that exist.
    /// </param>
    public static UntypedFunction FromName(string appName, string name, string? environmentName = null, int? version = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appName);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (version is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(version), version,
                $"Function.FromName(\"{appName}\", \"{name}\", version: {version}): versions count from 1 (each deploy of '{appName}' makes the next). " +
                "Give a deployed version, or leave version out for the newest.");
        }
        return new UntypedFunction(new FunctionReference(appName, name, null) { Version = version });
    }

    /// <summary>The function's backlog and runner count (Modal's <c>get_current_stats</c>).</summary>
    public Task<FunctionStats> GetCurrentStatsAsync(CancellationToken cancellationToken = default)
        => Backend.GetCurrentStatsAsync(Reference, cancellationToken);

    /// <summary>Keeps <paramref name="warmPoolSize"/> containers running even when idle (Modal's <c>keep_warm</c>).</summary>
    public Task KeepWarmAsync(int warmPoolSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmPoolSize);
        return Backend.KeepWarmAsync(Reference, warmPoolSize, cancellationToken);
    }

    /// <summary>
    /// Changes the autoscaler of this function (Modal's <c>update_autoscaler</c>): each argument given replaces the declared
    /// value (and earlier updates); null keeps it. It applies to what this handle reaches: a variant's own pool, or the
    /// running or deployed version of the function the handle resolves to, until that version is gone (a redeploy starts
    /// from the new version's declared options).
    /// </summary>
    /// <param name="minContainers">Containers kept running even with no input (0 or more).</param>
    /// <param name="maxContainers">The most containers at once (1 or more).</param>
    /// <param name="bufferContainers">Idle containers kept beyond the demand while busy (0 or more).</param>
    /// <param name="scaledownWindowSeconds">Seconds an idle container lives (1 to 86400).</param>
    /// <param name="cancellationToken">Stops the request.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of its range, or <paramref name="minContainers"/> is above
    /// <paramref name="maxContainers"/>.</exception>
    /// <exception cref="ArgumentException">The minimum would be above the maximum once laid over the function's current settings.</exception>
    public Task UpdateAutoscalerAsync(int? minContainers = null, int? maxContainers = null, int? bufferContainers = null,
        int? scaledownWindowSeconds = null, CancellationToken cancellationToken = default)
    {
        FunctionVariant.CheckAutoscaler(minContainers, maxContainers, bufferContainers, scaledownWindowSeconds);
        return Backend.UpdateAutoscalerAsync(Reference, minContainers, maxContainers, bufferContainers, scaledownWindowSeconds, cancellationToken);
    }

    /// <inheritdoc />
    public override string ToString() => $"Function {Reference.AppName ?? Reference.Definition?.DefaultAppName ?? "?"}/{Name}";

    // ---- Infrastructure for generated handles: they encode and decode, these move the bytes. ----

    /// <summary>Runs one encoded input remotely and decodes its output.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected async Task<R> CallCoreAsync<R>(ReadOnlyMemory<byte> arguments, Func<ReadOnlyMemory<byte>, R> decode, CancellationToken cancellationToken)
        => decode(await Backend.CallAsync(Reference, arguments, cancellationToken).ConfigureAwait(false));

    /// <summary>Runs one encoded input remotely and discards its output.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected async Task CallCoreAsync(ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
        => await Backend.CallAsync(Reference, arguments, cancellationToken).ConfigureAwait(false);

    /// <summary>Spawns one encoded input.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected Task<string> SpawnCoreAsync(ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
        => Backend.SpawnAsync(Reference, arguments, cancellationToken);

    /// <summary>Spawns one encoded input and returns its call, which names this function when its result does not decode.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected async Task<FunctionCall<R>> SpawnCallCoreAsync<R>(ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
        => new FunctionCall<R>(await Backend.SpawnAsync(Reference, arguments, cancellationToken).ConfigureAwait(false), Name);

    /// <summary>Maps over inputs, throwing the first failure.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected async IAsyncEnumerable<R> MapCoreAsync<TInput, R>(
        IAsyncEnumerable<TInput> inputs, Func<TInput, ReadOnlyMemory<byte>> encode, Func<ReadOnlyMemory<byte>, R> decode,
        bool orderOutputs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var output in Backend.MapAsync(Reference, Encode(inputs, encode, cancellationToken), orderOutputs, cancellationToken).ConfigureAwait(false))
        {
            if (output.Failure is { } failure)
            {
                throw failure;
            }
            yield return decode(output.Value);
        }
    }

    /// <summary>Maps over inputs, yielding failures as elements.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected async IAsyncEnumerable<FunctionResult<R>> MapResultsCoreAsync<TInput, R>(
        IAsyncEnumerable<TInput> inputs, Func<TInput, ReadOnlyMemory<byte>> encode, Func<ReadOnlyMemory<byte>, R> decode,
        bool orderOutputs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var output in Backend.MapAsync(Reference, Encode(inputs, encode, cancellationToken), orderOutputs, cancellationToken).ConfigureAwait(false))
        {
            if (output.Failure is { } failure)
            {
                yield return FunctionResult<R>.Failure(output.Index, failure);
                continue;
            }
            FunctionResult<R> result;
            try
            {
                result = FunctionResult<R>.Success(output.Index, decode(output.Value));
            }
            catch (PayloadException undecodable)
            {
                result = FunctionResult<R>.Failure(output.Index, undecodable); // one result that does not decode fails its element, not the map
            }
            yield return result;
        }
    }

    /// <summary>The reference of a <c>WithOptions</c> variant of this handle; each argument checked, null keeping the value.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected FunctionReference OptionsVariant(int? timeoutSeconds, RetryPolicy? retries, int? minContainers, int? maxContainers, int? bufferContainers,
        int? scaledownWindowSeconds, double? cpu, int? memoryMb, string? gpu, IReadOnlyDictionary<string, string>? environment)
        => Reference.WithVariant((Reference.Variant ?? FunctionVariant.None).WithOptions(Reference.DeclaredOptions, timeoutSeconds, retries,
            minContainers, maxContainers, bufferContainers, scaledownWindowSeconds, cpu, memoryMb, gpu, environment));

    /// <summary>The reference of a <c>WithConcurrency</c> variant of this handle.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected FunctionReference ConcurrencyVariant(int maxInputs, int? targetInputs)
        => Reference.WithVariant((Reference.Variant ?? FunctionVariant.None).WithConcurrency(maxInputs, targetInputs));

    /// <summary>The reference of a <c>WithBatching</c> variant of this handle.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected FunctionReference BatchingVariant(int maxBatchSize, int waitMs)
        => Reference.WithVariant((Reference.Variant ?? FunctionVariant.None).WithBatching(maxBatchSize, waitMs));

    /// <summary>Sends every input as a spawned map, which runs on without the caller, and returns its handle.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected async Task<MapCall<R>> SpawnMapCoreAsync<TInput, R>(
        IAsyncEnumerable<TInput> inputs, Func<TInput, ReadOnlyMemory<byte>> encode, CancellationToken cancellationToken)
        => new MapCall<R>(await Backend.SpawnMapAsync(Reference, Encode(inputs, encode, cancellationToken), cancellationToken).ConfigureAwait(false), Name);

    /// <summary>Runs every input and discards the outputs; the first failure throws unless ignored.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected async Task ForEachCoreAsync<TInput>(
        IAsyncEnumerable<TInput> inputs, Func<TInput, ReadOnlyMemory<byte>> encode, bool ignoreExceptions, CancellationToken cancellationToken)
    {
        await foreach (var output in Backend.MapAsync(Reference, Encode(inputs, encode, cancellationToken), orderOutputs: false, cancellationToken).ConfigureAwait(false))
        {
            if (output.Failure is { } failure && !ignoreExceptions)
            {
                throw failure;
            }
        }
    }

    /// <summary>Runs a generator function remotely and decodes its items.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected async IAsyncEnumerable<R> RemoteGenCoreAsync<R>(
        ReadOnlyMemory<byte> arguments, Func<ReadOnlyMemory<byte>, R> decode, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in Backend.CallGeneratorAsync(Reference, arguments, cancellationToken).ConfigureAwait(false))
        {
            yield return decode(item);
        }
    }

    /// <summary>Adapts a synchronous input sequence for a map.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected static async IAsyncEnumerable<T> ToAsyncEnumerable<T>(IEnumerable<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        foreach (var item in source)
        {
            yield return item;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Encode<TInput>(
        IAsyncEnumerable<TInput> inputs, Func<TInput, ReadOnlyMemory<byte>> encode, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var input in inputs.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return encode(input);
        }
    }
}
