namespace Modal.Cli;

/// <summary>Bad usage found after parsing (a bad value, a bad profile file): one line on standard error and exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>An operation that failed for a reason already explained (an unknown name, a refused call): exit code 1.</summary>
internal sealed class FailedException(string message) : Exception(message);
