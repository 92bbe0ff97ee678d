using System.Diagnostics.Metrics;
using Grpc.Net.Client;
using Microsoft.Data.Sqlite;
using Modal.Api;
using Api = Modal.Api;
using Modal.Server;

namespace Modal.Reliability.Tests;

/// <summary>
/// Ephemeral apps come and go by the thousand (every test run, every notebook cell): once stopped, nothing of them may
/// stay in the control plane's memory or store. The control plane runs in this process on a SQLite file and the test
/// drives it through the wire contract; what it holds is read from its <c>modal.held.*</c> gauges and its tables.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class EphemeralAppTests
{
    private const int Concurrency = 8;
    private static readonly TimeSpan s_settle = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Ephemeral_apps_created_and_stopped_leave_no_apps_functions_or_rows_behind()
    {
        var apps = Soak.Size(ci: 2_000, soak: 10_000);
        var directory = Path.Combine(Path.GetTempPath(), "modal-reliability", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var database = Path.Combine(directory, "modal.db");
        try
        {
            await using (var controlPlane = await ControlPlane.StartAsync(new ControlPlaneOptions
            {
                DatabasePath = database,
                BlobDirectory = Path.Combine(directory, "blobs"),
                RetentionSweepInterval = TimeSpan.FromSeconds(1),
            }))
            using (var channel = GrpcChannel.ForAddress(controlPlane.Url))
            {
                var client = new ModalClient.ModalClientClient(channel);
                var before = await HeldAsync(client, database);

                var next = -1;
                await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
                {
                    for (var i = Interlocked.Increment(ref next); i < apps; i = Interlocked.Increment(ref next))
                    {
                        var created = await client.AppCreateAsync(NewEphemeralApp(i));
                        await client.AppStopAsync(new AppStopRequest { AppId = created.AppId });
                    }
                }))).WaitAsync(TimeSpan.FromMinutes(3));

                // Letting go may happen in the background (a sweep): wait a while for it, then compare.
                var after = await HeldAsync(client, database);
                var deadline = DateTime.UtcNow + s_settle;
                while (!after.IsWithin(before) && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(500);
                    after = await HeldAsync(client, database);
                }

                Assert.True(after.IsWithin(before),
                    $"After {apps} ephemeral apps were created and stopped, the control plane holds more than before " +
                    $"(waited {s_settle.TotalSeconds} s):\n  before: {before}\n  after:  {after}");
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static AppCreateRequest NewEphemeralApp(int index)
    {
        // No launch spec: the control plane starts no workers for these apps.
        var request = new AppCreateRequest { Name = $"ephemeral-{index}", Kind = AppKind.Ephemeral };
        request.Functions.Add(new FunctionSpec
        {
            Name = "Square",
            Kind = Api.FunctionKind.Unary,
            Signature = "Square(int x) -> int",
            ParameterCount = 1,
            HasResult = true,
        });
        return request;
    }

    /// <summary>What the control plane holds: listed apps, its held-state gauges, and the rows of every table.</summary>
    private static async Task<Held> HeldAsync(ModalClient.ModalClientClient client, string database)
    {
        var listed = (await client.AppListAsync(new AppListRequest())).Apps.Count;
        return new Held(listed, ReadHeldGauges(), CountRows(database));
    }

    private static SortedDictionary<string, long> ReadHeldGauges()
    {
        var values = new SortedDictionary<string, long>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, meterListener) =>
            {
                if (instrument.Meter.Name == "Modal.Server" && instrument.Name.StartsWith("modal.held.", StringComparison.Ordinal))
                {
                    meterListener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) =>
        {
            lock (values)
            {
                values[instrument.Name] = values.GetValueOrDefault(instrument.Name) + value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        Assert.True(values.Count > 0, "The control plane publishes no modal.held.* gauges (Meter \"Modal.Server\"): what it holds cannot be read.");
        return values;
    }

    private static SortedDictionary<string, long> CountRows(string database)
    {
        var rows = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var connectionString = new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        var tables = new List<string>();
        using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
            using var reader = list.ExecuteReader();
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }
        foreach (var table in tables)
        {
            using var count = connection.CreateCommand();
            count.CommandText = $"SELECT COUNT(*) FROM \"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
            rows[table] = (long)count.ExecuteScalar()!;
        }
        return rows;
    }

    /// <summary>What the control plane holds at one moment.</summary>
    private sealed record Held(int ListedApps, SortedDictionary<string, long> Gauges, SortedDictionary<string, long> Rows)
    {
        /// <summary>Whether nothing here exceeds what <paramref name="before"/> held.</summary>
        public bool IsWithin(Held before)
            => ListedApps <= before.ListedApps
                && Gauges.All(g => g.Value <= before.Gauges.GetValueOrDefault(g.Key))
                && Rows.All(r => r.Value <= before.Rows.GetValueOrDefault(r.Key));

        public override string ToString()
            => $"{ListedApps} listed apps; held {string.Join(", ", Gauges.Select(g => $"{g.Key}={g.Value}"))}; " +
               $"rows {string.Join(", ", Rows.Select(r => $"{r.Key}={r.Value}"))}";
    }
}
