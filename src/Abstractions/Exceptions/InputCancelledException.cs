namespace Modal;

/// <summary>An input was cancelled (<c>FunctionCall.CancelAsync</c>) before it finished, and ended as <see cref="InputStatus.Terminated"/>.</summary>
public sealed class InputCancelledException : ModalException
{
    /// <summary>Creates the exception with a message.</summary>
    public InputCancelledException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public InputCancelledException(string message, Exception? innerException) : base(message, innerException) { }
}
