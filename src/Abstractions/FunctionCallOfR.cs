namespace Modal;

/// <summary>A spawned call whose result decodes as <typeparamref name="R"/>.</summary>
/// <typeparam name="R">The function's result type.</typeparam>
public sealed class FunctionCall<R> : FunctionCall
{
    private readonly string? _functionName;

    internal FunctionCall(string objectId, string? functionName = null) : base(objectId) => _functionName = functionName;

    /// <summary>
    /// Waits for the result. Null waits without limit; <see cref="TimeSpan.Zero"/> polls once. Throws
    /// <see cref="TimeoutException"/> when there is no result in time (the call goes on), or the call's failure.
    /// </summary>
    /// <exception cref="PayloadException">The result does not decode as <typeparamref name="R"/>.</exception>
    public new async Task<R> GetAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        => ModalSerializer.DeserializeCallResult<R>(await GetOutputAsync(timeout, cancellationToken).ConfigureAwait(false), ObjectId, _functionName);

    /// <summary>Blocking form of <see cref="GetAsync"/>.</summary>
    public new R Get(TimeSpan? timeout = null) => GetAsync(timeout).GetAwaiter().GetResult();
}
