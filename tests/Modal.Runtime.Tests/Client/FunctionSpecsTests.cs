namespace Modal.Runtime.Tests.Client;

public sealed class FunctionSpecsTests
{
    [Theory]
    [InlineData("Square(int x) -> int", 1)]
    [InlineData("Add(int a, int b) -> int", 2)]
    [InlineData("Now() -> long", 0)]
    [InlineData("Embed(string text, CancellationToken cancellationToken) -> float[]", 1)]
    [InlineData("Pairs(Dictionary<string, int> map, (int, int) pair) -> void", 2)]
    public void Parameter_count_leaves_out_the_cancellation_token(string signature, int expected)
        => Assert.Equal(expected, FunctionSpecs.CountParameters(signature));

    [Fact]
    public void Options_map_to_the_wire_spec_with_no_limit_as_zero()
    {
        var definition = new FunctionDefinition("app", "F", FunctionKind.Batched,
            new FunctionOptions { TimeoutSeconds = 60, MaxInputs = 4, Batch = new BatchOptions(16, 50), Retries = new RetryPolicy(3, 2, 100, 1000) },
            "F(IReadOnlyList<int> xs) -> IReadOnlyList<int>", hasResult: true);

        var spec = FunctionSpecs.From(definition);

        Assert.Equal(Modal.Api.FunctionKind.Batched, spec.Kind);
        Assert.Equal(1, spec.ParameterCount);
        Assert.Equal(0, spec.MaxContainers);
        Assert.Equal(60, spec.TimeoutSeconds);
        Assert.Equal(4, spec.MaxInputs);
        Assert.Equal(16, spec.Batch.MaxBatchSize);
        Assert.Equal(3, spec.Retries.MaxRetries);
    }
}
