namespace Modal;

/// <summary>The base of every error Modal raises.</summary>
public class ModalException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public ModalException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ModalException(string message, Exception? innerException) : base(message, innerException) { }
}
