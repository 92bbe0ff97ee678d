namespace Modal;

/// <summary>An app, function or function call does not exist on the control plane.</summary>
public sealed class NotFoundException : ModalException
{
    /// <summary>Creates the exception with a message.</summary>
    public NotFoundException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public NotFoundException(string message, Exception? innerException) : base(message, innerException) { }
}
