using System.Collections;
using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Data.Sqlite;
using Modal.Api;
using Modal.Integration.Tests;
using Modal.Reliability;

namespace Modal.Reliability.Tests;

/// <summary>
/// Hostile input against a real standalone control plane (a server process on loopback with a real worker): every RPC
/// gets thousands of randomly mutated valid requests, under the admin token, a real worker's credentials, wrong ones and
/// none; plus malformed protobuf, malformed MessagePack, replayed and stale outputs and oversized payloads. The server must
/// answer each with a specific status, never crash, and leave a store that a consistency check finds whole.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class FuzzTests
{
    private const int MutatedRequests = 10_000;
    private static readonly TimeSpan s_limit = TimeSpan.FromMinutes(4);

    /// <summary>What an RPC may answer: a status that says what was wrong (our own deadline ends long polls and streams).</summary>
    private static readonly HashSet<StatusCode> s_specific =
    [
        StatusCode.OK, StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.PermissionDenied, StatusCode.Unauthenticated,
        StatusCode.FailedPrecondition, StatusCode.ResourceExhausted, StatusCode.OutOfRange, StatusCode.AlreadyExists,
        StatusCode.DeadlineExceeded, StatusCode.Cancelled,
    ];

    private sealed record Seeds(
        string AppId, string FunctionId, string CallId, IReadOnlyList<string> InputIds, string BlobId, string ContainerId, string ContainerToken)
    {
        public IReadOnlyList<string> Ids => [AppId, FunctionId, CallId, BlobId, ContainerId, .. InputIds];
    }

    [Fact]
    public async Task Ten_thousand_mutated_requests_malformed_payloads_and_stale_outputs_get_specific_statuses_and_leave_a_consistent_store()
    {
        await using var server = await ControlPlaneProcess.StartAsync(useDatabaseFile: true);
        var app = await ModalApp.RunAsync(options: new ModalAppOptions { Mode = ModalMode.Remote, ServerUrl = server.Url });
        Seeds seeds;
        try
        {
            seeds = await SeedAsync(server);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        using var channel = GrpcChannel.ForAddress(server.Url, new GrpcChannelOptions { MaxSendMessageSize = null, MaxReceiveMessageSize = null });
        int seed = Environment.TickCount;
        var unspecific = new ConcurrentBag<string>();
        var statuses = new ConcurrentDictionary<StatusCode, int>();
        // One connection per lane, as separate clients would have. On one shared connection, the streams that the lanes'
        // short deadlines reset while the server still finishes them add up, and Kestrel's rapid-reset defence then
        // refuses new streams (ENHANCE_YOUR_CALM) and closes the connection, failing the calls on it.
        var lanes = Enumerable.Range(0, 8)
            .Select(_ => GrpcChannel.ForAddress(server.Url, new GrpcChannelOptions { MaxSendMessageSize = null, MaxReceiveMessageSize = null }))
            .ToList();
        int calmDowns = 0;
        using var limit = new CancellationTokenSource(s_limit);
        int next = -1;

        async Task Fuzz(int lane)
        {
            var random = new Random(seed + lane);
            var rpcs = Rpcs(lanes[lane], seeds);
            while (Interlocked.Increment(ref next) < MutatedRequests)
            {
                limit.Token.ThrowIfCancellationRequested();
                var (name, send) = rpcs[random.Next(rpcs.Count)];
                var headers = Headers(random, seeds);
                StatusCode code;
                string detail;
                try
                {
                    await send(random, headers);
                    (code, detail) = (StatusCode.OK, "");
                }
                catch (Exception exception) when (IsCalmDown(exception))
                {
                    // The server's HTTP/2 layer refusing a burst of streams: a deliberate answer, counted apart.
                    Interlocked.Increment(ref calmDowns);
                    continue;
                }
                catch (RpcException exception)
                {
                    (code, detail) = (exception.StatusCode, exception.Status.Detail);
                }
                statuses.AddOrUpdate(code, 1, (_, n) => n + 1);
                if (!s_specific.Contains(code))
                {
                    unspecific.Add($"{name}: {code} {detail}");
                }
            }
        }

        try
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(lane => Task.Run(() => Fuzz(lane))));
        }
        finally
        {
            lanes.ForEach(lane => lane.Dispose());
        }
        string summary = $"seed {seed}; " + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))
            + $", HTTP/2 ENHANCE_YOUR_CALM: {calmDowns}";

        await MalformedProtobufAsync(channel, new Random(seed), unspecific);
        await OversizedAsync(channel, seeds, unspecific);

        try
        {
            Assert.True(unspecific.IsEmpty, $"Unspecific answers ({summary}):\n" + string.Join("\n", unspecific.Take(20)) +
                "\nThe server's log around them:\n" + ServerLog(server.Output, unspecific));
            // Still serving: it lists apps and creates a new one. The seed app is not looked for: its id is among the
            // values the fuzz tries, so AppStop may well have stopped it, and the retention sweep (once a minute) deletes
            // a stopped app whose inputs are done; on a loaded machine the fuzz runs past that minute.
            var client = new ModalClient.ModalClientClient(channel);
            await client.AppListAsync(new AppListRequest(), AdminHeaders());
            var created = await client.AppCreateAsync(new AppCreateRequest
            {
                Name = "after-fuzz", Kind = AppKind.Ephemeral,
                Functions = { new FunctionSpec { Name = "F", ParameterCount = 1, HasResult = true, Signature = "F(int x) -> int" } },
            }, AdminHeaders());
            Assert.StartsWith("ap-", created.AppId);
        }
        finally
        {
            await app.DisposeAsync();
        }

        await server.KillAsync();
        CheckStore(server.DatabasePath!, summary);
    }

    /// <summary>
    /// Kestrel's answer to a connection with too many streams reset by the client but still running on the server
    /// (its defence against HTTP/2 rapid reset): the stream refused with ENHANCE_YOUR_CALM, raw or inside an RpcException.
    /// </summary>
    private static bool IsCalmDown(Exception? exception)
    {
        for (var e = exception; e is not null; e = e is RpcException rpc ? rpc.Status.DebugException ?? rpc.InnerException : e.InnerException)
        {
            if (e is System.Net.Http.HttpProtocolException { ErrorCode: 0xb })
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The server's log lines near the correlation ids the unspecific answers carry.</summary>
    private static string ServerLog(string output, IEnumerable<string> answers)
    {
        var ids = answers.SelectMany(a => System.Text.RegularExpressions.Regex.Matches(a, "err-[0-9a-f]+").Select(m => m.Value)).Take(3).ToList();
        var lines = output.Split('\n');
        var picked = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (ids.Any(id => lines[i].Contains(id, StringComparison.Ordinal)))
            {
                picked.AddRange(lines.Skip(i).Take(12));
            }
        }
        return string.Join("\n", picked);
    }

    /// <summary>An app with a real worker (whose credentials a function hands out), a spawned call with inputs, and a blob.</summary>
    private static async Task<Seeds> SeedAsync(ControlPlaneProcess server)
    {
        string[] credentials = await FuzzProbes.Functions.ContainerCredentials.RemoteAsync();
        using var channel = GrpcChannel.ForAddress(server.Url);
        var client = new ModalClient.ModalClientClient(channel);
        var admin = AdminHeaders();
        var function = await client.FunctionGetAsync(new FunctionGetRequest { AppName = "reliability", FunctionName = "Square" }, admin);
        var map = new FunctionMapRequest { FunctionId = function.FunctionId, Invocation = FunctionCallInvocation.Async };
        for (int i = 0; i < 20; i++)
        {
            map.PipelinedInputs.Add(new FunctionInputItem { Index = i, Arguments = new Payload { Inline = ByteString.CopyFrom(0x91, (byte)i) } });
        }
        var call = await client.FunctionMapAsync(map, admin);
        using var upload = client.BlobPut(admin);
        await upload.RequestStream.WriteAsync(new BlobChunk { Data = ByteString.CopyFrom(0x91, 0x03), TotalSize = 2 });
        await upload.RequestStream.CompleteAsync();
        string blobId = (await upload.ResponseAsync).BlobId;
        var apps = await client.AppListAsync(new AppListRequest(), admin);
        return new Seeds(apps.Apps.Single(a => a.Name == "reliability" && a.State == "running").AppId, function.FunctionId, call.FunctionCallId,
            call.InputIds, blobId, credentials[0], credentials[1]);
    }

    private static Metadata AdminHeaders() => TestToken.Headers();

    /// <summary>Mostly the admin token; also the real worker's credentials, wrong ones, or none.</summary>
    private static Metadata Headers(Random random, Seeds seeds) => random.Next(20) switch
    {
        < 12 => AdminHeaders(),
        < 16 => new() { { "x-modal-container-id", seeds.ContainerId }, { "x-modal-container-token", seeds.ContainerToken } },
        16 => new() { { "x-modal-token-id", TestToken.Id }, { "x-modal-token-secret", "ts-wrong" } },
        17 => new() { { "x-modal-container-id", seeds.ContainerId }, { "x-modal-container-token", "wrong" } },
        18 => new() { { "x-modal-container-id", HeaderValue(random, seeds) }, { "x-modal-container-token", HeaderValue(random, seeds) } },
        _ => [],
    };

    private static DateTime Soon => DateTime.UtcNow.AddSeconds(2);

    /// <summary>Every RPC of both services, each sending a mutated copy of a valid request.</summary>
    private static List<(string Name, Func<Random, Metadata, Task> Send)> Rpcs(GrpcChannel channel, Seeds s)
    {
        var client = new ModalClient.ModalClientClient(channel);
        var worker = new ModalWorker.ModalWorkerClient(channel);
        var argument = new Payload { Inline = ByteString.CopyFrom(0x91, 0x02) };
        T M<T>(Random random, T template) where T : IMessage<T> => Mutated(random, template, s);

        async Task Drain<T>(IAsyncStreamReader<T> stream)
        {
            for (int i = 0; i < 3 && await stream.MoveNext(CancellationToken.None); i++)
            {
            }
        }

        return
        [
            ("AppCreate", (r, h) => client.AppCreateAsync(M(r, new AppCreateRequest
            {
                Name = "fuzz-" + r.Next(1000), Kind = AppKind.Ephemeral,
                Functions = { new FunctionSpec { Name = "F", ParameterCount = 1, HasResult = true, Signature = "F(int x) -> int" } },
            }), h, Soon).ResponseAsync),
            ("AppHeartbeat", (r, h) => client.AppHeartbeatAsync(M(r, new AppHeartbeatRequest { AppId = s.AppId }), h, Soon).ResponseAsync),
            ("AppStop", (r, h) => client.AppStopAsync(M(r, new AppStopRequest { AppId = "ap-" + Guid.NewGuid().ToString("N") }), h, Soon).ResponseAsync),
            ("AppList", (r, h) => client.AppListAsync(M(r, new AppListRequest()), h, Soon).ResponseAsync),
            ("AppGetLogs", async (r, h) =>
            {
                using var logs = client.AppGetLogs(M(r, new AppGetLogsRequest { AppId = s.AppId }), h, DateTime.UtcNow.AddMilliseconds(300));
                await Drain(logs.ResponseStream);
            }),
            ("FunctionGet", (r, h) => client.FunctionGetAsync(M(r, new FunctionGetRequest { AppName = "reliability", FunctionName = "Square" }), h, Soon).ResponseAsync),
            ("FunctionMap", (r, h) => client.FunctionMapAsync(M(r, new FunctionMapRequest
            {
                FunctionId = s.FunctionId, PipelinedInputs = { new FunctionInputItem { Index = 0, Arguments = argument } },
                Invocation = FunctionCallInvocation.Async, IdempotencyKey = "k" + r.Next(50),
            }), h, Soon).ResponseAsync),
            ("FunctionPutInputs", (r, h) => client.FunctionPutInputsAsync(M(r, new FunctionPutInputsRequest
            {
                FunctionCallId = s.CallId, Inputs = { new FunctionInputItem { Index = 100 + r.Next(1000), Arguments = argument } },
            }), h, Soon).ResponseAsync),
            ("FunctionGetOutputs", (r, h) => client.FunctionGetOutputsAsync(M(r, new FunctionGetOutputsRequest { FunctionCallId = s.CallId }), h,
                DateTime.UtcNow.AddMilliseconds(500)).ResponseAsync),
            ("FunctionCallGetDataOut", async (r, h) =>
            {
                using var data = client.FunctionCallGetDataOut(M(r, new FunctionCallGetDataOutRequest { FunctionCallId = s.CallId }), h,
                    DateTime.UtcNow.AddMilliseconds(300));
                await Drain(data.ResponseStream);
            }),
            ("FunctionCallCancel", (r, h) => client.FunctionCallCancelAsync(M(r, new FunctionCallCancelRequest { FunctionCallId = "fc-" + r.Next() }), h, Soon).ResponseAsync),
            ("FunctionCallFromId", (r, h) => client.FunctionCallFromIdAsync(M(r, new FunctionCallFromIdRequest { FunctionCallId = s.CallId }), h, Soon).ResponseAsync),
            ("FunctionGetCallGraph", (r, h) => client.FunctionGetCallGraphAsync(M(r, new FunctionGetCallGraphRequest { FunctionCallId = s.CallId }), h, Soon).ResponseAsync),
            ("FunctionGetCurrentStats", (r, h) => client.FunctionGetCurrentStatsAsync(M(r, new FunctionGetCurrentStatsRequest { FunctionId = s.FunctionId }), h, Soon).ResponseAsync),
            ("FunctionUpdateKeepWarm", (r, h) => client.FunctionUpdateKeepWarmAsync(M(r, new FunctionUpdateKeepWarmRequest { FunctionId = s.FunctionId }), h, Soon).ResponseAsync),
            ("BlobPut", async (r, h) =>
            {
                using var upload = client.BlobPut(h, Soon);
                for (int i = r.Next(4); i > 0; i--)
                {
                    await upload.RequestStream.WriteAsync(M(r, new BlobChunk { Data = ByteString.CopyFrom(0x91, 0x01), TotalSize = 2 }));
                }
                await upload.RequestStream.CompleteAsync();
                await upload.ResponseAsync;
            }),
            ("BlobGet", async (r, h) =>
            {
                using var download = client.BlobGet(M(r, new BlobGetRequest { BlobId = s.BlobId }), h, Soon);
                await Drain(download.ResponseStream);
            }),
            ("ArtifactCommit", (r, h) => client.ArtifactCommitAsync(M(r, new ArtifactManifest
            {
                Files = { new ArtifactFile { Path = "App.dll", Sha256 = new string('a', 64), Size = 3 } },
            }), h, Soon).ResponseAsync),
            ("ArtifactFilePut", async (r, h) =>
            {
                using var upload = client.ArtifactFilePut(h, Soon);
                await upload.RequestStream.WriteAsync(M(r, new ArtifactFileChunk { Data = ByteString.CopyFromUtf8("abc"), Sha256 = new string('b', 64), TotalSize = 3 }));
                await upload.RequestStream.CompleteAsync();
                await upload.ResponseAsync;
            }),
            ("TokenCreate", (r, h) => client.TokenCreateAsync(M(r, new TokenCreateRequest { AppNames = { "reliability" } }), h, Soon).ResponseAsync),
            ("TokenList", (r, h) => client.TokenListAsync(M(r, new TokenListRequest()), h, Soon).ResponseAsync),
            ("TokenRevoke", (r, h) => client.TokenRevokeAsync(M(r, new TokenRevokeRequest { TokenId = "tk-" + r.Next() }), h, Soon).ResponseAsync),
            ("AppGetProgress", (r, h) => client.AppGetProgressAsync(M(r, new AppGetProgressRequest { AppId = s.AppId, FinishedSinceUnixMs = 1 }), h, Soon).ResponseAsync),
            ("ContainerList", (r, h) => client.ContainerListAsync(M(r, new ContainerListRequest { AppId = s.AppId }), h, Soon).ResponseAsync),
            // A made-up id only: the real worker's container is left running for the rest.
            ("ContainerStop", (r, h) => client.ContainerStopAsync(M(r, new ContainerStopRequest { ContainerId = "ct-" + r.Next() }), h, Soon).ResponseAsync),
            // Wrong credentials only: a hello with a startup error would end the real worker, whose credentials the rest uses.
            ("ContainerHello", (r, _) => worker.ContainerHelloAsync(M(r, new ContainerHelloRequest { ContainerId = s.ContainerId }),
                new Metadata { { "x-modal-container-id", s.ContainerId }, { "x-modal-container-token", HeaderValue(r, s) } }, Soon).ResponseAsync),
            ("FunctionGetInputs", async (r, h) =>
            {
                // Wrong credentials only: the real worker's input stream is left to it.
                var bogus = new Metadata { { "x-modal-container-id", s.ContainerId }, { "x-modal-container-token", HeaderValue(r, s) } };
                using var inputs = worker.FunctionGetInputs(bogus, DateTime.UtcNow.AddMilliseconds(300));
                await inputs.RequestStream.WriteAsync(M(r, new InputCredit { FreeSlots = 1 }));
                await Drain(inputs.ResponseStream);
            }),
            ("FunctionPutOutputs (replayed and stale)", (r, h) => worker.FunctionPutOutputsAsync(M(r, new FunctionPutOutputsRequest
            {
                Outputs =
                {
                    new FunctionOutputFromWorker
                    {
                        InputId = s.InputIds[r.Next(s.InputIds.Count)], Attempt = r.Next(4),
                        Result = new FunctionResult { Status = Modal.Api.InputStatus.Success, Data = new Payload { Inline = ByteString.CopyFrom(0x01) } },
                    },
                },
            }), h, Soon).ResponseAsync),
            ("FunctionPutDataOut", (r, h) => worker.FunctionPutDataOutAsync(M(r, new FunctionPutDataOutRequest
            {
                InputId = s.InputIds[r.Next(s.InputIds.Count)], Attempt = 1, Chunks = { new DataChunk { Index = 0, Data = argument } },
            }), h, Soon).ResponseAsync),
            ("ContainerHeartbeat", (r, h) => worker.ContainerHeartbeatAsync(M(r, new ContainerHeartbeatRequest
            {
                ActiveInputs = { new ActiveInput { InputId = s.InputIds[0], Attempt = 1 } },
            }), h, Soon).ResponseAsync),
            ("ContainerLogs", (r, h) => worker.ContainerLogsAsync(M(r, new ContainerLogsRequest { Lines = { new LogLine { Text = "fuzz" } } }), h, Soon).ResponseAsync),
        ];
    }

    /// <summary>A copy of a valid request with one to three fields set to hostile values (nine in ten; the tenth is sent valid).</summary>
    private static T Mutated<T>(Random random, T template, Seeds seeds) where T : IMessage<T>
    {
        var message = template.Clone();
        if (random.Next(10) > 0)
        {
            for (int i = random.Next(1, 4); i > 0; i--)
            {
                Mutate(random, message, seeds, depth: 0);
            }
        }
        return message;
    }

    private static void Mutate(Random random, IMessage message, Seeds seeds, int depth)
    {
        var fields = message.Descriptor.Fields.InFieldNumberOrder();
        if (fields.Count == 0)
        {
            return;
        }
        var field = fields[random.Next(fields.Count)];
        var accessor = field.Accessor;
        if (field.IsMap)
        {
            var map = (IDictionary)accessor.GetValue(message);
            map[RandomString(random, seeds)] = RandomString(random, seeds);
            return;
        }
        if (field.IsRepeated)
        {
            var list = (IList)accessor.GetValue(message);
            switch (random.Next(4))
            {
                case 0:
                    list.Clear();
                    break;
                case 1 when list.Count > 0:
                    for (int i = random.Next(1, 200); i > 0; i--)
                    {
                        list.Add(list[0] is IMessage first ? first.Descriptor.Parser.ParseFrom(first.ToByteString()) : list[0]);
                    }
                    break;
                case 2 when list.Count > 0 && list[0] is IMessage element && depth < 3:
                    Mutate(random, element, seeds, depth + 1);
                    break;
                default:
                    if (field.FieldType == FieldType.String)
                    {
                        list.Add(RandomString(random, seeds));
                    }
                    break;
            }
            return;
        }
        object? value = field.FieldType switch
        {
            FieldType.String => RandomString(random, seeds),
            FieldType.Bytes => RandomBytes(random),
            FieldType.Bool => random.Next(2) == 0,
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => random.Next(6) switch
            {
                0 => int.MinValue, 1 => int.MaxValue, 2 => -1, 3 => 0, _ => random.Next(-1000, 100_000),
            },
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => random.Next(5) switch
            {
                0 => long.MinValue, 1 => long.MaxValue, 2 => -1L, 3 => 0L, _ => random.NextInt64(-1000, long.MaxValue),
            },
            FieldType.Double => random.Next(6) switch
            {
                0 => double.NaN, 1 => double.PositiveInfinity, 2 => -1.0, 3 => 1e308, 4 => 0.0, _ => random.NextDouble() * 10,
            },
            FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, random.Next(5) == 0 ? random.Next() : random.Next(-2, 8)),
            FieldType.Message when depth < 3 => MutatedChild(random, message, field, seeds, depth),
            _ => null,
        };
        if (value is not null)
        {
            accessor.SetValue(message, value);
        }
    }

    private static IMessage MutatedChild(Random random, IMessage parent, FieldDescriptor field, Seeds seeds, int depth)
    {
        var child = field.Accessor.GetValue(parent) as IMessage ?? field.MessageType.Parser.ParseFrom(ByteString.Empty);
        Mutate(random, child, seeds, depth + 1);
        return child;
    }

    private static string RandomString(Random random, Seeds seeds) => random.Next(12) switch
    {
        0 => "",
        1 => new string('x', random.Next(257, 200_000)),
        2 => "../../../../etc/passwd",
        3 => "'; DROP TABLE inputs; --",
        4 => "\u0000\u202e\ud83d\ude00\n\r\t",
        5 => "ap-" + Guid.NewGuid().ToString("N"),
        6 => "DOTNET_STARTUP_HOOKS",
        7 => new string((char)random.Next(0x20, 0x7f), random.Next(1, 40)),
        _ => seeds.Ids[random.Next(seeds.Ids.Count)],
    };

    /// <summary>What fits in an HTTP/2 header (printable ASCII, short): the HTTP client refuses anything else before sending.</summary>
    private static string HeaderValue(Random random, Seeds seeds) => random.Next(3) switch
    {
        0 => new string((char)random.Next(0x21, 0x7f), random.Next(1, 200)),
        1 => "' OR 1=1 --",
        _ => seeds.Ids[random.Next(seeds.Ids.Count)],
    };

    private static ByteString RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(4) switch { 0 => 0, 1 => random.Next(1, 16), 2 => random.Next(16, 4096), _ => random.Next(1, 64) }];
        random.NextBytes(bytes);
        return ByteString.CopyFrom(bytes);
    }

    /// <summary>Random bytes as the request of every unary RPC: not a protobuf message of its type, or one with garbage fields.</summary>
    private static async Task MalformedProtobufAsync(GrpcChannel channel, Random random, ConcurrentBag<string> unspecific)
    {
        var raw = new Marshaller<byte[]>(bytes => bytes, bytes => bytes);
        string[] unary =
        [
            "ModalClient/AppCreate", "ModalClient/AppHeartbeat", "ModalClient/AppStop", "ModalClient/AppList", "ModalClient/FunctionGet",
            "ModalClient/FunctionMap", "ModalClient/FunctionPutInputs", "ModalClient/FunctionGetOutputs", "ModalClient/FunctionCallCancel",
            "ModalClient/FunctionCallFromId", "ModalClient/FunctionGetCallGraph", "ModalClient/FunctionGetCurrentStats",
            "ModalClient/FunctionUpdateKeepWarm", "ModalClient/ArtifactCommit", "ModalClient/TokenCreate", "ModalClient/TokenList",
            "ModalClient/TokenRevoke", "ModalClient/AppGetProgress", "ModalClient/ContainerList", "ModalClient/ContainerStop", "ModalWorker/ContainerHello", "ModalWorker/FunctionPutOutputs", "ModalWorker/FunctionPutDataOut",
            "ModalWorker/ContainerHeartbeat", "ModalWorker/ContainerLogs",
        ];
        foreach (string name in unary)
        {
            var method = new Method<byte[], byte[]>(MethodType.Unary, "modal.api.v1." + name.Split('/')[0], name.Split('/')[1], raw, raw);
            for (int i = 0; i < 20; i++)
            {
                var bytes = new byte[random.Next(1, 300)];
                random.NextBytes(bytes);
                try
                {
                    await channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(AdminHeaders(), Soon), bytes);
                }
                catch (RpcException exception) when (s_specific.Contains(exception.StatusCode))
                {
                }
                catch (RpcException exception)
                {
                    unspecific.Add($"malformed protobuf to {name}: {exception.StatusCode} {exception.Status.Detail}");
                }
            }
        }
    }

    /// <summary>Inline arguments over 2 MiB, a message over the server's 64 MiB limit, and arguments that are not MessagePack.</summary>
    private static async Task OversizedAsync(GrpcChannel channel, Seeds seeds, ConcurrentBag<string> unspecific)
    {
        var client = new ModalClient.ModalClientClient(channel);
        var cases = new (string Name, FunctionMapRequest Request, StatusCode Expected)[]
        {
            ("3 MiB inline", Map(seeds, new byte[3 * 1024 * 1024]), StatusCode.InvalidArgument),
            ("65 MiB message", Map(seeds, new byte[65 * 1024 * 1024]), StatusCode.ResourceExhausted),
            ("not MessagePack", Map(seeds, [0xc1, 0xff, 0x00]), StatusCode.InvalidArgument),
            ("array of the wrong length", Map(seeds, [0x93, 0x01, 0x02, 0x03]), StatusCode.InvalidArgument),
        };
        foreach (var (name, request, expected) in cases)
        {
            try
            {
                await client.FunctionMapAsync(request, AdminHeaders(), DateTime.UtcNow.AddSeconds(30));
                unspecific.Add($"{name}: accepted");
            }
            catch (RpcException exception) when (exception.StatusCode == expected)
            {
            }
            catch (RpcException exception)
            {
                unspecific.Add($"{name}: {exception.StatusCode} {exception.Status.Detail}, expected {expected}");
            }
        }
    }

    private static FunctionMapRequest Map(Seeds seeds, byte[] arguments) => new()
    {
        FunctionId = seeds.FunctionId,
        PipelinedInputs = { new FunctionInputItem { Index = 0, Arguments = new Payload { Inline = ByteString.CopyFrom(arguments) } } },
    };

    /// <summary>Every input has at most one output, finished inputs have theirs, counters agree, and no row points at nothing.</summary>
    private static void CheckStore(string databasePath, string summary)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly");
        connection.Open();
        long Count(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            return (long)command.ExecuteScalar()!;
        }
        var checks = new (string What, string Sql)[]
        {
            ("inputs with more than one output", "SELECT COUNT(*) FROM (SELECT input_id FROM outputs GROUP BY input_id HAVING COUNT(*) > 1)"),
            ("finished inputs without an output", "SELECT COUNT(*) FROM inputs i WHERE i.status <> 0 AND NOT EXISTS (SELECT 1 FROM outputs o WHERE o.input_id = i.id)"),
            ("outputs of unknown inputs", "SELECT COUNT(*) FROM outputs o WHERE NOT EXISTS (SELECT 1 FROM inputs i WHERE i.id = o.input_id)"),
            ("outputs of unknown calls", "SELECT COUNT(*) FROM outputs o WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = o.call_id)"),
            ("inputs of unknown calls", "SELECT COUNT(*) FROM inputs i WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = i.call_id)"),
            ("chunks of unknown calls", "SELECT COUNT(*) FROM chunks k WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = k.call_id)"),
            ("calls of unknown functions", "SELECT COUNT(*) FROM calls c WHERE NOT EXISTS (SELECT 1 FROM functions f WHERE f.id = c.function_id)"),
            ("functions of unknown apps", "SELECT COUNT(*) FROM functions f WHERE NOT EXISTS (SELECT 1 FROM apps a WHERE a.id = f.app_id)"),
            ("containers of unknown functions", "SELECT COUNT(*) FROM containers c WHERE NOT EXISTS (SELECT 1 FROM functions f WHERE f.id = c.function_id)"),
            ("idempotency keys of unknown calls", "SELECT COUNT(*) FROM idempotency k WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.id = k.call_id)"),
            ("inputs held by unknown containers", "SELECT COUNT(*) FROM inputs i WHERE i.holder IS NOT NULL AND NOT EXISTS (SELECT 1 FROM containers c WHERE c.id = i.holder)"),
            ("calls whose unfinished count disagrees with their inputs",
                "SELECT COUNT(*) FROM calls c WHERE c.unfinished <> (SELECT COUNT(*) FROM inputs i WHERE i.call_id = c.id AND i.status = 0)"),
            ("calls whose input count disagrees with their inputs",
                "SELECT COUNT(*) FROM calls c WHERE c.input_count <> (SELECT COUNT(*) FROM inputs i WHERE i.call_id = c.id)"),
        };
        var broken = checks.Select(check => (check.What, Count: Count(check.Sql))).Where(r => r.Count > 0).ToList();
        Assert.True(broken.Count == 0, $"The store is inconsistent ({summary}): " + string.Join("; ", broken.Select(b => $"{b.Count} {b.What}")));
        Assert.True(Count("SELECT COUNT(*) FROM inputs") > 20, "the fuzz run enqueued nothing");
    }
}
