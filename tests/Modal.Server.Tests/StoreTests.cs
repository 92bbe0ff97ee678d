using Modal.Api;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

public sealed class StoreTests
{
    [Fact]
    public async Task Ten_thousand_inputs_are_written_in_a_few_transactions()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());
        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = functionId });
        long before = server.ControlPlane.Store.TransactionCount;

        // A map pump sends batches concurrently; the store commits whatever is queued together.
        var batches = Enumerable.Range(0, 10).Select(batch =>
        {
            var request = new FunctionPutInputsRequest { FunctionCallId = map.FunctionCallId };
            request.Inputs.AddRange(Enumerable.Range(batch * 1000, 1000).Select(i => Payloads.Input(i, i % 100)));
            return server.Client.FunctionPutInputsAsync(request).ResponseAsync;
        }).ToList();
        var responses = await Task.WhenAll(batches);

        long transactions = server.ControlPlane.Store.TransactionCount - before;
        Assert.Equal(10_000, responses.Sum(r => r.InputIds.Count));
        Assert.InRange(transactions, 1, 10);
        var stats = await server.Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = functionId });
        Assert.Equal(10_000, stats.Backlog);
        Console.WriteLine($"10,000 inputs in {transactions} transaction(s)");
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "modal-group-commit.txt"), $"{transactions}");
    }

    [Fact]
    public async Task Ten_thousand_pipelined_inputs_in_one_request_cost_one_transaction()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());
        long before = server.ControlPlane.Store.TransactionCount;
        var request = new FunctionMapRequest { FunctionId = functionId };
        request.PipelinedInputs.AddRange(Enumerable.Range(0, 10_000).Select(i => Payloads.Input(i, i % 100)));

        var response = await server.Client.FunctionMapAsync(request);

        Assert.Equal(10_000, response.InputIds.Count);
        // The inputs are one transaction; the leader's duties (lease renewal, reaper, retention) may commit a few of
        // their own meanwhile. One transaction per input would be 10,000.
        Assert.InRange(server.ControlPlane.Store.TransactionCount - before, 1, 10);
    }

    [Fact]
    public async Task Reopening_a_file_store_rebuilds_the_ready_queues()
    {
        string directory = Directory.CreateTempSubdirectory("modal-store-").FullName;
        try
        {
            var options = new ControlPlaneOptions { DatabasePath = Path.Combine(directory, "modal.db"), BlobDirectory = Path.Combine(directory, "blobs") };
            string functionId, callId;
            await using (var first = await TestServer.StartAsync(options))
            {
                (_, functionId) = await first.CreateAppAsync(Payloads.Spec(), kind: AppKind.Deployed);
                var request = new FunctionMapRequest { FunctionId = functionId, Invocation = FunctionCallInvocation.Async };
                request.PipelinedInputs.AddRange(Enumerable.Range(0, 3).Select(i => Payloads.Input(i, i)));
                callId = (await first.Client.FunctionMapAsync(request)).FunctionCallId;
            }

            await using var second = await TestServer.StartAsync(options);
            var stats = await second.Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = functionId });
            Assert.Equal(3, stats.Backlog);
            var call = await second.Client.FunctionCallFromIdAsync(new FunctionCallFromIdRequest { FunctionCallId = callId });
            Assert.Equal("Square", call.FunctionName);
            Assert.Equal(3, call.InputCount);
            var outputs = await second.Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest { FunctionCallId = callId });
            Assert.Equal(3, outputs.UnfinishedInputs);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
