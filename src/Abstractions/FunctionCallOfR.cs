namespace Modal;

/// <summary>A spawned call whose result decodes as <typeparamref name="R"/>.</summary>
/// <typeparam name="R">The function's result type.</typeparam>
public sealed class FunctionCall<R> : FunctionCall
{
    internal FunctionCall(string objectId) : base(objectId) { }

    /// <summary>
    /// Waits for the result. Null waits without limit; <see cref="TimeSpan.Zero"/> polls once. Throws
    /// <see cref="TimeoutException"/> when there is no result in time (the call goes on), or the call's failure.
    /// </summary>
    public new async Task<R> GetAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        => ModalSerializer.Deserialize<R>(await GetOutputAsync(timeout, cancellationToken).ConfigureAwait(false));

    /// <summary>Blocking form of <see cref="GetAsync"/>.</summary>
    public new R Get(TimeSpan? timeout = null) => GetAsync(timeout).GetAwaiter().GetResult();
}
