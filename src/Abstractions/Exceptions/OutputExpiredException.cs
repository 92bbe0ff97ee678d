namespace Modal;

/// <summary>The output of a call was kept for its retention period and has been removed.</summary>
public sealed class OutputExpiredException : ModalException
{
    /// <summary>Creates the exception with a message.</summary>
    public OutputExpiredException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public OutputExpiredException(string message, Exception? innerException) : base(message, innerException) { }
}
