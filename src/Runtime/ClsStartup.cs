namespace Modal;

/// <summary>How a <c>[Cls]</c> container's failed start is worded, the same in every mode.</summary>
internal static class ClsStartup
{
    /// <summary>
    /// The reason a container could not start: the class, and the exception its constructor, parameters or [Enter] threw
    /// (type, message and the first lines of its stack trace).
    /// </summary>
    public static string Describe(FunctionDefinition cls, Exception exception)
    {
        var failure = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        string where = failure is InvalidInputException ? "its parameters" : "[Enter]";
        string stack = string.Join(" | ", (failure.StackTrace ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(3));
        return $"{where} of class '{cls.Name}' threw {failure.GetType().FullName}: {failure.Message}" + (stack.Length > 0 ? $" ({stack})" : "");
    }
}
