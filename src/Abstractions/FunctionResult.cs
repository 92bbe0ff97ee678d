using System.Runtime.ExceptionServices;

namespace Modal;

/// <summary>
/// One element of <c>MapResults</c>: the output of the input at <see cref="Index"/>, or the failure it ended in.
/// </summary>
/// <typeparam name="R">The function's result type.</typeparam>
public readonly struct FunctionResult<R>
{
    private readonly R _value;

    private FunctionResult(int index, R value, Exception? exception)
    {
        Index = index;
        _value = value;
        Exception = exception;
    }

    /// <summary>A successful output.</summary>
    public static FunctionResult<R> Success(int index, R value) => new(index, value, null);

    /// <summary>A failed input.</summary>
    public static FunctionResult<R> Failure(int index, Exception exception)
        => new(index, default!, exception ?? throw new ArgumentNullException(nameof(exception)));

    /// <summary>The position of the input in the mapped sequence, from 0.</summary>
    public int Index { get; }

    /// <summary>True when the input produced an output.</summary>
    public bool IsSuccess => Exception is null;

    /// <summary>The output; reading it on a failure throws that failure.</summary>
    public R Value => Exception is null ? _value : ThrowFailure(Exception);

    /// <summary>The failure, or null on success.</summary>
    public Exception? Exception { get; }

    // Rethrown with its original stack trace kept (a plain 'throw' would replace it on every read).
    private static R ThrowFailure(Exception failure)
    {
        ExceptionDispatchInfo.Throw(failure);
        return default!;
    }

    /// <inheritdoc />
    public override string ToString() => IsSuccess ? $"[{Index}] {_value}" : $"[{Index}] {Exception!.GetType().Name}: {Exception.Message}";
}
