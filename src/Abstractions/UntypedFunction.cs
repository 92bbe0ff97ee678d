namespace Modal;

/// <summary>
/// A function reached by name (<see cref="Function.FromName"/>), called with untyped arguments: each argument is
/// encoded by its run-time type and the result decoded as the <c>R</c> the caller names. The only handle with untyped
/// calls; a function compiled into this app has a typed handle (<c>MyType.Functions.MyMethod</c>) instead.
/// </summary>
public sealed class UntypedFunction : Function
{
    internal UntypedFunction(FunctionReference reference) : base(reference) { }

    /// <summary>Runs the function remotely with untyped arguments and waits for its result (Modal's <c>remote</c>).</summary>
    /// <typeparam name="R">The type to decode the result as.</typeparam>
    /// <param name="args">The arguments, in the function's parameter order.</param>
    /// <exception cref="InvalidInputException">The arguments do not fit the deployed function.</exception>
    /// <exception cref="NotFoundException">No such app or function.</exception>
    /// <exception cref="PayloadException">An argument cannot be encoded, or the result does not decode as <typeparamref name="R"/>.</exception>
    public Task<R> RemoteAsync<R>(params object?[] args) => RemoteAsync<R>(args, CancellationToken.None);

    /// <summary>Runs the function remotely with untyped arguments and waits for its result (Modal's <c>remote</c>).</summary>
    /// <typeparam name="R">The type to decode the result as.</typeparam>
    /// <param name="args">The arguments, in the function's parameter order.</param>
    /// <param name="cancellationToken">Stops waiting and cancels the input.</param>
    public Task<R> RemoteAsync<R>(object?[] args, CancellationToken cancellationToken)
        => CallCoreAsync(ModalSerializer.SerializeArguments(args, Name), Decoder<R>(), cancellationToken);

    /// <summary>Starts the function with untyped arguments without waiting for it (Modal's <c>spawn</c>).</summary>
    /// <typeparam name="R">The type to decode the result as.</typeparam>
    /// <param name="args">The arguments, in the function's parameter order.</param>
    public Task<FunctionCall<R>> SpawnAsync<R>(params object?[] args) => SpawnAsync<R>(args, CancellationToken.None);

    /// <summary>Starts the function with untyped arguments without waiting for it (Modal's <c>spawn</c>).</summary>
    /// <typeparam name="R">The type to decode the result as.</typeparam>
    /// <param name="args">The arguments, in the function's parameter order.</param>
    /// <param name="cancellationToken">Stops waiting for the call to be queued.</param>
    public async Task<FunctionCall<R>> SpawnAsync<R>(object?[] args, CancellationToken cancellationToken)
        => await SpawnCallCoreAsync<R>(ModalSerializer.SerializeArguments(args, Name), cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Runs the function on every input remotely, each input an untyped argument array, and streams the results; the
    /// first failure throws (Modal's <c>map</c>).
    /// </summary>
    /// <typeparam name="R">The type to decode each result as.</typeparam>
    /// <param name="inputs">One argument array per input, each in the function's parameter order.</param>
    /// <param name="orderOutputs">Yield results in input order (the default), else as they complete.</param>
    /// <param name="cancellationToken">Stops the map and cancels its inputs.</param>
    public IAsyncEnumerable<R> Map<R>(IEnumerable<object?[]> inputs, bool orderOutputs = true, CancellationToken cancellationToken = default)
        => MapCoreAsync<object?[], R>(ToAsyncEnumerable(inputs), args => ModalSerializer.SerializeArguments(args, Name), Decoder<R>(), orderOutputs, cancellationToken);

    /// <summary>
    /// Sends every input, each an untyped argument array, as one call that runs on without the caller (Modal's
    /// <c>spawn_map</c>); any process connected to the same control plane reaches it with <see cref="MapCall.FromId{R}"/>.
    /// </summary>
    /// <typeparam name="R">The type to decode each result as.</typeparam>
    /// <param name="inputs">One argument array per input, each in the function's parameter order.</param>
    /// <param name="cancellationToken">Stops sending; inputs already committed run on.</param>
    public Task<MapCall<R>> SpawnMapAsync<R>(IEnumerable<object?[]> inputs, CancellationToken cancellationToken = default)
        => SpawnMapCoreAsync<object?[], R>(ToAsyncEnumerable(inputs), args => ModalSerializer.SerializeArguments(args, Name), cancellationToken);

    /// <summary>Runs a generator function remotely with untyped arguments and streams its items (Modal's <c>remote_gen</c>).</summary>
    /// <typeparam name="R">The type to decode each item as.</typeparam>
    /// <param name="args">The arguments, in the function's parameter order.</param>
    /// <param name="cancellationToken">Stops the stream and cancels the input.</param>
    public IAsyncEnumerable<R> RemoteGen<R>(object?[] args, CancellationToken cancellationToken = default)
        => RemoteGenCoreAsync(ModalSerializer.SerializeArguments(args, Name), Decoder<R>(), cancellationToken);

    /// <summary>Decodes a result as <typeparamref name="R"/>, or throws <see cref="PayloadException"/> naming this function.</summary>
    private Func<ReadOnlyMemory<byte>, R> Decoder<R>() => output => ModalSerializer.DeserializeResult<R>(output, Name);
}
