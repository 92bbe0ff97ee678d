using System.Diagnostics;
using Modal.Integration;

namespace Modal.Integration.Tests;

/// <summary>
/// Three control-plane replicas on one PostgreSQL database, real server and worker processes on loopback; the client
/// spreads its calls over the three URLs. One replica is SIGKILLed in the middle of a map: once the leader (which
/// runs the autoscaler and launches), once another.
/// </summary>
[Collection(RideThroughCollection.Name)]
public sealed class ReplicaTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(90);

    private static async Task<T> WithinAsync<T>(Task<T> task, TimeSpan limit, string what)
    {
        var finished = await Task.WhenAny(task, Task.Delay(limit));
        Assert.True(finished == task, $"{what} did not happen within {limit.TotalSeconds} s.");
        return await task;
    }

    private static async Task<string> LeaderAsync(PostgresTestDatabase database, Func<string?, bool> accept, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (await database.LeaderUrlAsync() is { } url && accept(url))
            {
                return url;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"No replica took the leader lease within {limit.TotalSeconds} s.");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_map_over_three_replicas_completes_when_one_is_SIGKILLed_and_the_duties_move_within_ten_seconds(bool killTheLeader)
    {
        const int Count = 600;
        await using var database = await PostgresTestDatabase.CreateAsync();
        string blobs = Directory.CreateTempSubdirectory("modal-replica-blobs-").FullName;
        var replicas = new List<ServerProcess>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                replicas.Add(await ServerProcess.StartAsync("--db", database.Url, "--blobs", blobs));
            }
            string Normal(string url) => url.TrimEnd('/');
            await using var app = await ModalApp.RunAsync(options: new ModalAppOptions
            {
                Mode = ModalMode.Remote, ServerUrl = string.Join(',', replicas.Select(r => r.Url)), RetryWindow = s_patience,
            });
            Assert.Equal(7, await WithinAsync(IntegrationFunctions.Functions.SlowIdentity.RemoteAsync(7), s_patience, "The first call"));
            string leader = await LeaderAsync(database, _ => true, TimeSpan.FromSeconds(30));
            var victim = killTheLeader
                ? replicas.Single(r => Normal(r.Url) == Normal(leader))
                : replicas.First(r => Normal(r.Url) != Normal(leader));

            var outputs = new List<int>();
            var killedAt = new TaskCompletionSource<Stopwatch>(TaskCreationOptions.RunContinuationsAsynchronously);
            var map = Task.Run(async () =>
            {
                await foreach (int output in IntegrationFunctions.Functions.SlowIdentity.Map(Enumerable.Range(0, Count)))
                {
                    outputs.Add(output);
                    if (outputs.Count == Count / 3)
                    {
                        victim.Kill();
                        killedAt.TrySetResult(Stopwatch.StartNew());
                    }
                }
                return outputs.Count;
            });

            var sinceKill = await WithinAsync(killedAt.Task, s_patience, "The kill mid-map");
            string newLeader = await LeaderAsync(database, url => Normal(url!) != Normal(victim.Url), TimeSpan.FromSeconds(10));
            Assert.True(sinceKill.Elapsed < TimeSpan.FromSeconds(10), $"The duties moved after {sinceKill.Elapsed.TotalSeconds:F1} s.");
            if (!killTheLeader)
            {
                Assert.Equal(Normal(leader), Normal(newLeader));
            }
            await WithinAsync(map, TimeSpan.FromMinutes(3), "The map");
            Assert.Equal(Enumerable.Range(0, Count), outputs);
            // Autoscaling works under the leader now in charge: a function with no container yet gets one.
            Assert.StartsWith("5:", await WithinAsync(IntegrationFunctions.Functions.ShortLived.RemoteAsync(5), s_patience, "A call needing a new container"));
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
            Directory.Delete(blobs, recursive: true);
        }
    }
}
