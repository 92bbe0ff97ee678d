using Modal.Api;

namespace Modal;

/// <summary>Turns the control plane's flat list of inputs (each naming its parent input) into the tree users walk.</summary>
internal static class CallGraph
{
    /// <summary>The roots (inputs with no parent in the list) with their descendants.</summary>
    public static IReadOnlyList<InputInfo> Build(IEnumerable<CallGraphInput> inputs)
    {
        var all = inputs.ToList();
        var known = all.Select(i => i.InputId).ToHashSet(StringComparer.Ordinal);
        var children = all
            .Where(i => !string.IsNullOrEmpty(i.ParentInputId) && known.Contains(i.ParentInputId))
            .ToLookup(i => i.ParentInputId, StringComparer.Ordinal);
        var visiting = new HashSet<string>(StringComparer.Ordinal);

        InputInfo Convert(CallGraphInput input)
        {
            var kids = visiting.Add(input.InputId)
                ? children[input.InputId].Select(Convert).ToArray()
                : [];
            visiting.Remove(input.InputId);
            return new InputInfo(input.InputId, input.FunctionCallId, input.FunctionName, OutputMapper.ToStatus(input.Status), kids);
        }

        return all.Where(i => string.IsNullOrEmpty(i.ParentInputId) || !known.Contains(i.ParentInputId)).Select(Convert).ToArray();
    }
}
