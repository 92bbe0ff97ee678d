namespace Modal;

/// <summary>Arguments do not fit the deployed function's signature, or an argument is too large to send.</summary>
public sealed class InvalidInputException : ModalException
{
    /// <summary>Creates the exception with a message.</summary>
    public InvalidInputException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public InvalidInputException(string message, Exception? innerException) : base(message, innerException) { }
}
