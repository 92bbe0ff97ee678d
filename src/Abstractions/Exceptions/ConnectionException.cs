namespace Modal;

/// <summary>The control plane could not be reached, or the connection to it broke.</summary>
public sealed class ConnectionException : ModalException
{
    /// <summary>Creates the exception with a message.</summary>
    public ConnectionException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ConnectionException(string message, Exception? innerException) : base(message, innerException) { }
}
