namespace Modal;

/// <summary>The control plane refused the presented token.</summary>
public sealed class AuthenticationException : ModalException
{
    /// <summary>Creates the exception with a message.</summary>
    public AuthenticationException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public AuthenticationException(string message, Exception? innerException) : base(message, innerException) { }
}
