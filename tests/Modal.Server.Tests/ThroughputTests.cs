using Modal.Api;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

public sealed class ThroughputTests
{
    [Fact]
    public async Task A_thousand_inputs_across_two_workers_each_yield_exactly_one_output()
    {
        var spec = Payloads.Spec();
        spec.MaxContainers = 2;
        spec.MaxInputs = 4;
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(spec, launch: true);
        var request = new FunctionMapRequest { FunctionId = functionId };
        request.PipelinedInputs.AddRange(Enumerable.Range(0, 1000).Select(i => Payloads.Input(i, i % 11)));
        var map = await server.Client.FunctionMapAsync(request);

        async Task<int> RunWorkerAsync()
        {
            var launched = await server.Launcher.NextAsync();
            await using var worker = server.Worker(launched.ContainerId, launched.ContainerToken);
            await worker.HelloAsync();
            await worker.StartAsync(credits: 4);
            int served = 0;
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                while (true)
                {
                    var assignment = await worker.Assignments.Reader.ReadAsync(stop.Token).AsTask()
                        .WaitAsync(TimeSpan.FromSeconds(1), stop.Token);
                    var input = assignment.Inputs.Single();
                    int x = input.Arguments.Inline[1];
                    await worker.PutAsync(input, Payloads.Success(x * x));
                    await worker.GrantAsync(1);
                    served++;
                }
            }
            catch (TimeoutException)
            {
                return served; // idle for a second: the queue is drained
            }
        }

        var served = await Task.WhenAll(RunWorkerAsync(), RunWorkerAsync());
        var outputs = await server.WaitForOutputsAsync(map.FunctionCallId, 1000, TimeSpan.FromSeconds(20));

        Assert.Equal(1000, served.Sum());
        Assert.Equal(1000, outputs.Outputs.Select(o => o.InputId).Distinct().Count());
        Assert.All(outputs.Outputs, o => Assert.Equal((o.Index % 11) * (o.Index % 11), Payloads.Value(o.Result)));
        Assert.Equal(0, outputs.UnfinishedInputs);
    }
}
