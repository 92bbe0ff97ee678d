using Modal.Api;

namespace Modal.Runtime.Tests.Client;

public sealed class CallGraphTests
{
    [Fact]
    public void Flat_inputs_become_a_tree_by_parent_input()
    {
        var graph = CallGraph.Build(
        [
            new CallGraphInput { InputId = "in-1", FunctionCallId = "fc-1", FunctionName = "Parent", Status = Modal.Api.InputStatus.Success },
            new CallGraphInput { InputId = "in-2", FunctionCallId = "fc-2", FunctionName = "Child", Status = Modal.Api.InputStatus.Success, ParentInputId = "in-1" },
            new CallGraphInput { InputId = "in-3", FunctionCallId = "fc-3", FunctionName = "Grandchild", Status = Modal.Api.InputStatus.Timeout, ParentInputId = "in-2" },
            new CallGraphInput { InputId = "in-4", FunctionCallId = "fc-1", FunctionName = "Parent", Status = Modal.Api.InputStatus.Pending },
        ]);

        Assert.Equal(["in-1", "in-4"], graph.Select(i => i.InputId));
        var child = Assert.Single(graph[0].Children);
        Assert.Equal("Child", child.FunctionName);
        var grandchild = Assert.Single(child.Children);
        Assert.Equal(InputStatus.Timeout, grandchild.Status);
        Assert.Empty(graph[1].Children);
    }
}
