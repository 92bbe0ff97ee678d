namespace Modal;

/// <summary>An input ran past its function's <c>TimeoutSeconds</c>; its cancellation token was cancelled and it ended as <see cref="InputStatus.Timeout"/>.</summary>
public sealed class FunctionTimeoutException : ModalException
{
    /// <summary>Creates the exception with a message.</summary>
    public FunctionTimeoutException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public FunctionTimeoutException(string message, Exception? innerException) : base(message, innerException) { }
}
