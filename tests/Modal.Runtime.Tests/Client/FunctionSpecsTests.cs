namespace Modal.Runtime.Tests.Client;

public sealed class FunctionSpecsTests
{
    [Fact]
    public void Parameter_count_is_the_one_the_generator_compiled()
    {
        var definition = new FunctionDefinition("app", "G", FunctionKind.Unary, new FunctionOptions(),
            "G(CancellationTokenInfo info, Dictionary<string, int> map) -> void", hasResult: false, parameterCount: 2);

        Assert.Equal(2, FunctionSpecs.From(definition).ParameterCount);
    }

    [Fact]
    public void Options_map_to_the_wire_spec_with_no_limit_as_zero()
    {
        var definition = new FunctionDefinition("app", "F", FunctionKind.Batched,
            new FunctionOptions { TimeoutSeconds = 60, MaxInputs = 4, Batch = new BatchOptions(16, 50), Retries = new RetryPolicy(3, 2, 100, 1000) },
            "F(IReadOnlyList<int> xs) -> IReadOnlyList<int>", hasResult: true, parameterCount: 1);

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
