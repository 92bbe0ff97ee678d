using System.Diagnostics;
using Modal.Reliability;

namespace Modal.Reliability.Tests;

/// <summary>
/// Issue 6's word-count failure: a map of functions returning dictionaries threw <c>ConnectionException: Error starting
/// gRPC call. IOException: The request was aborted</c> near its end. The map pump cancelled its own long poll when the
/// last inputs were sent; when that poll's response (a batch of outputs) was being received at that moment, the aborted
/// HTTP/2 stream surfaced as a transport failure rather than a cancellation, and the map failed.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class WordCountMapTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(120);

    /// <summary>All the back-to-back maps together, so that the test ends however they fail (CI stops a test after 5 minutes).</summary>
    private static readonly TimeSpan s_mapsBudget = Soak.Enabled ? TimeSpan.FromMinutes(30) : TimeSpan.FromMinutes(4);

    [Fact]
    public async Task A_map_whose_inputs_end_while_a_batch_of_outputs_is_being_received_completes()
    {
        const int Inputs = 3;
        // About 1.3 MB of MessagePack per dictionary: one output is a response far larger than an HTTP/2 stream window.
        const int Words = 100_000;
        await using var server = await ControlPlaneProcess.StartAsync(useDatabaseFile: false);
        await using var proxy = Http2HoldingProxy.Start(server.Url, holdMessagesOfAtLeast: 512 * 1024);
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = proxy.Url });
        var release = Task.CompletedTask;

        async IAsyncEnumerable<int> InputsThatEndWhileOutputsAreBeingReceived()
        {
            for (var i = 0; i < Inputs; i++)
            {
                yield return Words;
            }
            // The client is now in the middle of receiving a response that carries outputs: only then do the inputs end.
            await proxy.Holding.WaitAsync(s_patience);
            // The rest of that response follows a few seconds later, unless the client gives up on it before: that is the
            // interleaving of the failure, made certain (the pump sends its last inputs in one round trip, well within it).
            release = Task.Delay(TimeSpan.FromSeconds(5)).ContinueWith(_ => proxy.ReleaseAsync(), TaskScheduler.Default).Unwrap();
        }

        var run = await MapRun.CollectAsync(
            token => ReliabilityFunctions.Functions.Vocabulary.Map(InputsThatEndWhileOutputsAreBeingReceived(), cancellationToken: token), s_patience);
        await release;

        Assert.True(run.Failure is null, $"The map {run.Describe(Inputs)}. Server output:\n{server.Output}");
        Assert.Equal(Inputs, run.Outputs.Count);
        Assert.All(run.Outputs, counts => Assert.Equal(Words, counts.Count));
        Assert.False(proxy.ClientReset.IsCompleted, "The client abandoned a response that was carrying outputs.");
    }

    [Fact]
    public async Task Back_to_back_word_count_maps_over_2000_documents_with_default_limits_all_complete()
    {
        const int DocumentCount = 2_000;
        var maps = Soak.Size(ci: 5, soak: 25);
        var expected = Documents.Range(DocumentCount).Select(ReliabilityFunctions.WordCount).ToList();
        await using var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Embedded });

        var failures = new List<string>();
        var budget = Stopwatch.StartNew();
        for (var map = 0; map < maps; map++)
        {
            var left = s_mapsBudget - budget.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                failures.Add($"maps {map} to {maps - 1}: not run, the {s_mapsBudget.TotalMinutes} minutes for all maps were spent.");
                break;
            }
            var run = await MapRun.CollectAsync(
                token => ReliabilityFunctions.Functions.WordCount.Map(Documents.Range(DocumentCount), cancellationToken: token),
                left < s_patience ? left : s_patience);
            if (run.Failure is not null || run.Outputs.Count != DocumentCount)
            {
                failures.Add($"map {map}: {run.Describe(DocumentCount)}");
                continue;
            }
            var wrong = Enumerable.Range(0, DocumentCount).FirstOrDefault(i => !SameCounts(expected[i], run.Outputs[i]), -1);
            if (wrong >= 0)
            {
                failures.Add($"map {map}: output {wrong} does not hold the counts of document {wrong}.");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {maps} maps failed:\n{string.Join('\n', failures)}");
    }

    private static bool SameCounts(Dictionary<string, int> expected, Dictionary<string, int> actual)
        => expected.Count == actual.Count && expected.All(pair => actual.TryGetValue(pair.Key, out var count) && count == pair.Value);
}
