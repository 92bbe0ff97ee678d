namespace Modal;

/// <summary>Where an input of a function call stands.</summary>
public enum InputStatus
{
    /// <summary>Queued or running.</summary>
    Pending,
    /// <summary>Finished with a result.</summary>
    Success,
    /// <summary>The function threw, after all retries.</summary>
    Failure,
    /// <summary>The container could not start the function.</summary>
    InitFailure,
    /// <summary>Cancelled before it finished.</summary>
    Terminated,
    /// <summary>Ran past the function's timeout.</summary>
    Timeout,
}
