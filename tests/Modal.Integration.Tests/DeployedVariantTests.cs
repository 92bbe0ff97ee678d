namespace Modal.Integration.Tests;

/// <summary>Variants and autoscaler updates of a function deployed by another process, on a standalone control plane.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class DeployedVariantTests(IntegrationFixture fixture)
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_deployed_function_takes_variants_and_autoscaler_updates()
    {
        var name = "variants-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Contains($"deployed={name}", await ClientProcess.RunAsync(fixture.Server.Url, s_patience, null, "deploy", name));
        var deployed = IntegrationFunctions.Functions.ShortLived.WithApp(name); // idle containers go after 2 s

        // A variant of the deployed version: a pool of its own, with its own variable.
        var value = Guid.NewGuid().ToString("N");
        var coloured = IntegrationFunctions.Functions.Variable.WithApp(name)
            .WithOptions(environment: new Dictionary<string, string> { ["INTEGRATION_VARIANT"] = value });
        Assert.Equal(value, await coloured.RemoteAsync("INTEGRATION_VARIANT"));
        Assert.Null(await IntegrationFunctions.Functions.Variable.WithApp(name).RemoteAsync("INTEGRATION_VARIANT"));

        // By name too: FromName's handle is the deployed version's function.
        await Function.FromName(name, "ShortLived").UpdateAutoscalerAsync(minContainers: 1);
        Assert.True(await WorkerProcessTests.EventuallyAsync(async () => (await deployed.GetCurrentStatsAsync()).NumTotalRunners == 1, s_patience),
            "no container was kept");
        Assert.Equal(0, (await deployed.GetCurrentStatsAsync()).Backlog);
        await deployed.UpdateAutoscalerAsync(minContainers: 0);
        Assert.True(await WorkerProcessTests.EventuallyAsync(async () => (await deployed.GetCurrentStatsAsync()).NumTotalRunners == 0, s_patience),
            "the idle container stayed");
    }
}
