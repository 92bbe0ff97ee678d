namespace Modal;

/// <summary>
/// An argument or result that cannot be encoded or decoded: its message names the function, the argument or result,
/// the type, and (when decoding) what was there instead. The serializer's own exception is the inner exception.
/// </summary>
public sealed class PayloadException : ModalException
{
    /// <summary>Creates the exception with a message.</summary>
    public PayloadException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public PayloadException(string message, Exception? innerException) : base(message, innerException) { }
}
