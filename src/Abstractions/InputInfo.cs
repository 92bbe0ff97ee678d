namespace Modal;

/// <summary>One input in a call graph, with the calls it made (Modal's <c>InputInfo</c>).</summary>
/// <param name="InputId">The input's id.</param>
/// <param name="FunctionCallId">The id of the call the input belongs to.</param>
/// <param name="FunctionName">The function that ran it.</param>
/// <param name="Status">Where it stands.</param>
/// <param name="Children">Inputs of calls made while this input ran.</param>
public sealed record InputInfo(
    string InputId,
    string FunctionCallId,
    string FunctionName,
    InputStatus Status,
    IReadOnlyList<InputInfo> Children);
