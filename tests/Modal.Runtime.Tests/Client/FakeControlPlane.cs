using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Modal.Api;
using Api = Modal.Api;

namespace Modal.Runtime.Tests.Client;

/// <summary>
/// Just enough of a control plane, answered in memory at the HTTP level, to drive the client's retry paths: unary
/// <c>FunctionMap</c>, <c>FunctionPutInputs</c>, <c>FunctionGetOutputs</c> and <c>FunctionCallFromId</c>, and the
/// <c>FunctionCallGetDataOut</c> stream. Every input's output is its own arguments (an echo) or, for calls of
/// <see cref="FailingFunctionId"/>, a failure; a generator call yields <see cref="GeneratorItems"/> items. Faults are
/// injected per request, before it is applied (the request never arrived) or after (the reply was lost), and requests
/// that carry an idempotency key are deduplicated as the real control plane does.
/// </summary>
internal sealed class FakeControlPlane
{
    /// <summary>Calls of this function fail instead of echoing.</summary>
    public const string FailingFunctionId = "fn-failing";

    private readonly Lock _gate = new();
    private readonly List<(string Url, string Method, IMessage Request)> _requests = [];
    private readonly Dictionary<string, IMessage> _replies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeCall> _calls = new(StringComparer.Ordinal);
    private long _cursor;

    /// <summary>A fault to raise for a request before it is applied (the request is lost), or null to apply it.</summary>
    public Func<string, string, IMessage, Exception?>? FailBefore { get; set; }

    /// <summary>A fault to raise for a request after it was applied (the reply is lost), or null to answer.</summary>
    public Func<string, string, IMessage, Exception?>? FailAfter { get; set; }

    /// <summary>How many items a generator call yields (item i is the byte i), all of attempt 1.</summary>
    public int GeneratorItems { get; set; } = 10;

    /// <summary>For each generator stream opened, how many items it sends before it breaks in transit (null: it does not).</summary>
    public Func<int, int?> BreakGeneratorStream { get; set; } = _ => null;

    /// <summary><c>FunctionGet</c> answers: function ids by app, function and version (0: the newest).</summary>
    public Dictionary<(string App, string Function, int Version), string> FunctionIds { get; } = [];

    /// <summary>
    /// A redeploy: calls of the key function id that ask for the newest version (<c>newest_version</c>) are bound to the
    /// value function id instead.
    /// </summary>
    public Dictionary<string, string> NewestVersionOf { get; } = new(StringComparer.Ordinal);

    /// <summary>When false, idempotency keys are ignored: a retried request runs again.</summary>
    public bool Deduplicates { get; set; } = true;

    /// <summary>Every request received, in order, with the URL it went to and its method's short name.</summary>
    public IReadOnlyList<(string Url, string Method, IMessage Request)> Requests
    {
        get
        {
            lock (_gate)
            {
                return _requests.ToArray();
            }
        }
    }

    /// <summary>Calls created so far.</summary>
    public int CallCount
    {
        get
        {
            lock (_gate)
            {
                return _calls.Count;
            }
        }
    }

    /// <summary>The HTTP stack of one replica URL.</summary>
    public HttpMessageHandler Handler(string url) => new FakeHandler(this, url);

    /// <summary>A connection to replicas served by this fake.</summary>
    public GrpcConnection Connect(TimeSpan retryWindow, params string[] urls)
        => new(urls, new Metadata(), retryWindow, handlerFactory: Handler);

    /// <summary>The transport failure grpc-dotnet reports for a refused connection.</summary>
    public static Exception ConnectionRefused()
        => new HttpRequestException("Connection refused (127.0.0.1:1)", new SocketException((int)SocketError.ConnectionRefused));

    /// <summary>The transport failure of a request aborted mid-way (the failure issue 6 saw at the end of a map).</summary>
    public static Exception RequestAborted()
        => new HttpRequestException("An error occurred while sending the request.", new IOException("The request was aborted."));

    /// <summary>A gRPC status answered by the server (e.g. RESOURCE_EXHAUSTED).</summary>
    public static Exception Status(StatusCode code, string detail) => new RpcException(new Grpc.Core.Status(code, detail));

    private async Task<HttpResponseMessage> AnswerAsync(string url, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var method = request.RequestUri!.AbsolutePath[(request.RequestUri.AbsolutePath.LastIndexOf('/') + 1)..];
        var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
        var message = Parse(method, body.AsSpan(5).ToArray());
        int opened;
        lock (_gate)
        {
            _requests.Add((url, method, message));
            opened = _requests.Count(r => r.Method == method);
        }
        if (message is FunctionCallGetDataOutRequest dataOut)
        {
            return StreamItems(dataOut, BreakGeneratorStream(opened));
        }
        if (FailBefore?.Invoke(url, method, message) is { } before)
        {
            return Fail(before);
        }
        IMessage reply;
        try
        {
            reply = await ApplyAsync(method, message, cancellationToken);
        }
        catch (RpcException refused)
        {
            return Fail(refused); // the control plane's own answer, such as NOT_FOUND
        }
        if (FailAfter?.Invoke(url, method, message) is { } after)
        {
            return Fail(after);
        }
        return Reply(reply);
    }

    private static IMessage Parse(string method, byte[] bytes) => method switch
    {
        "FunctionMap" => FunctionMapRequest.Parser.ParseFrom(bytes),
        "FunctionGet" => FunctionGetRequest.Parser.ParseFrom(bytes),
        "FunctionPutInputs" => FunctionPutInputsRequest.Parser.ParseFrom(bytes),
        "FunctionGetOutputs" => FunctionGetOutputsRequest.Parser.ParseFrom(bytes),
        "FunctionCallFromId" => FunctionCallFromIdRequest.Parser.ParseFrom(bytes),
        "FunctionCallCancel" => FunctionCallCancelRequest.Parser.ParseFrom(bytes),
        "FunctionCallGetDataOut" => FunctionCallGetDataOutRequest.Parser.ParseFrom(bytes),
        "FunctionGetVariant" => FunctionGetVariantRequest.Parser.ParseFrom(bytes),
        _ => throw new NotSupportedException($"The fake control plane does not answer {method}."),
    };

    private async Task<IMessage> ApplyAsync(string method, IMessage request, CancellationToken cancellationToken)
    {
        switch (request)
        {
            case FunctionGetRequest get:
                lock (_gate)
                {
                    return FunctionIds.TryGetValue((get.AppName, get.FunctionName, get.Version), out var id)
                        ? new FunctionGetResponse { FunctionId = id, Version = get.Version }
                        : throw new RpcException(new Grpc.Core.Status(StatusCode.NotFound, $"No {get.AppName}/{get.FunctionName} version {get.Version}."));
                }
            case FunctionMapRequest map:
                lock (_gate)
                {
                    if (Deduplicates && map.IdempotencyKey.Length > 0 && _replies.TryGetValue(map.IdempotencyKey, out var earlier))
                    {
                        return earlier;
                    }
                    string functionId = map.NewestVersion && NewestVersionOf.TryGetValue(map.FunctionId, out var newer) ? newer : map.FunctionId;
                    var call = new FakeCall("fc-" + Guid.NewGuid().ToString("N"), functionId) { IsGenerator = map.IsGeneratorCall };
                    _calls[call.Id] = call;
                    var response = new FunctionMapResponse { FunctionCallId = call.Id, FunctionId = functionId };
                    response.InputIds.AddRange(AddInputs(call, map.PipelinedInputs));
                    if (map.IdempotencyKey.Length > 0)
                    {
                        _replies[map.IdempotencyKey] = response;
                    }
                    return response;
                }
            case FunctionPutInputsRequest put:
                lock (_gate)
                {
                    if (Deduplicates && put.IdempotencyKey.Length > 0 && _replies.TryGetValue(put.IdempotencyKey, out var earlier))
                    {
                        return earlier;
                    }
                    var response = new FunctionPutInputsResponse();
                    response.InputIds.AddRange(AddInputs(_calls[put.FunctionCallId], put.Inputs));
                    if (put.IdempotencyKey.Length > 0)
                    {
                        _replies[put.IdempotencyKey] = response;
                    }
                    return response;
                }
            case FunctionGetOutputsRequest get:
                var max = get.MaxOutputs > 0 ? get.MaxOutputs : 100;
                for (var waited = 0; ; waited++)
                {
                    lock (_gate)
                    {
                        var outputs = _calls[get.FunctionCallId].Outputs.Where(o => o.Cursor > get.AfterCursor).Take(max).ToList();
                        if (outputs.Count > 0 || waited * 0.01 >= Math.Min(get.TimeoutSeconds, 0.2))
                        {
                            var response = new FunctionGetOutputsResponse { Cursor = outputs.Count > 0 ? outputs[^1].Cursor : get.AfterCursor };
                            response.Outputs.AddRange(outputs.Select(o => o.Item));
                            return response;
                        }
                    }
                    await Task.Delay(10, cancellationToken);
                }
            case FunctionCallFromIdRequest from:
                lock (_gate)
                {
                    var known = _calls[from.FunctionCallId];
                    return new FunctionCallFromIdResponse { FunctionId = known.FunctionId, FunctionName = "Failing", InputCount = known.Outputs.Count };
                }
            case FunctionCallCancelRequest:
                return new FunctionCallCancelResponse();
            case FunctionGetVariantRequest variant:
                return new FunctionGetVariantResponse { FunctionId = variant.FunctionId + "-variant" };
            default:
                throw new NotSupportedException(method);
        }
    }

    /// <summary>Stores inputs and, at once, their outputs. Caller holds the lock.</summary>
    private List<string> AddInputs(FakeCall call, IEnumerable<FunctionInputItem> inputs)
    {
        var ids = new List<string>();
        foreach (var input in inputs)
        {
            var id = "in-" + Guid.NewGuid().ToString("N");
            ids.Add(id);
            var result = call.FunctionId == FailingFunctionId
                ? new FunctionResult { Status = Api.InputStatus.Failure, ExceptionType = "System.InvalidOperationException", ExceptionMessage = "it failed" }
                : call.IsGenerator
                    ? new FunctionResult { Status = Api.InputStatus.Success, GeneratorCount = GeneratorItems, Data = new Payload { Inline = ByteString.CopyFrom(0xc0) } }
                    : new FunctionResult { Status = Api.InputStatus.Success, Data = input.Arguments };
            call.Outputs.Add((++_cursor, new FunctionOutputItem { Index = input.Index, InputId = id, Result = result }));
        }
        return ids;
    }

    private static HttpResponseMessage Reply(IMessage message)
    {
        var bytes = message.ToByteArray();
        var frame = new byte[5 + bytes.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)bytes.Length);
        bytes.CopyTo(frame, 5);
        return Response(new ByteArrayContent(frame), StatusCode.OK, "");
    }

    private static HttpResponseMessage Fail(Exception fault)
        => fault is RpcException rpc ? Response(new ByteArrayContent([]), rpc.StatusCode, rpc.Status.Detail) : throw fault;

    private static HttpResponseMessage Response(HttpContent content, StatusCode status, string detail)
    {
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version20, Content = content };
        response.TrailingHeaders.Add("grpc-status", ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (detail.Length > 0)
        {
            response.TrailingHeaders.Add("grpc-message", Uri.EscapeDataString(detail));
        }
        return response;
    }

    /// <summary>A generator's items from the start index, in one response; a stream that breaks ends in a transport failure.</summary>
    private HttpResponseMessage StreamItems(FunctionCallGetDataOutRequest request, int? breakAfter)
    {
        var frames = new MemoryStream();
        var sent = 0;
        for (var index = request.StartIndex; index < GeneratorItems && (breakAfter is null || sent < breakAfter); index++, sent++)
        {
            var bytes = new DataChunk { Index = index, Attempt = 1, Data = new Payload { Inline = ByteString.CopyFrom((byte)index) } }.ToByteArray();
            var header = new byte[5];
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), (uint)bytes.Length);
            frames.Write(header);
            frames.Write(bytes);
        }
        return Response(new StreamContent(new BreakingStream(frames.ToArray(), breaks: breakAfter is not null)), StatusCode.OK, "");
    }

    /// <summary>A response body that ends normally, or in the failure of a connection reset mid-stream.</summary>
    private sealed class BreakingStream(byte[] content, bool breaks) : MemoryStream(content)
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = base.Read(buffer, offset, count);
            return read == 0 && count > 0 && breaks ? throw new IOException("The response ended prematurely (connection reset).") : read;
        }

        // Zero-byte reads (a reader waiting for data) are not the end of the stream.
        public override int Read(Span<byte> buffer)
        {
            var read = base.Read(buffer);
            return read == 0 && buffer.Length > 0 && breaks ? throw new IOException("The response ended prematurely (connection reset).") : read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => Task.FromResult(Read(buffer, offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(Read(buffer.Span));
    }

    private sealed record FakeCall(string Id, string FunctionId)
    {
        public bool IsGenerator { get; init; }

        public List<(long Cursor, FunctionOutputItem Item)> Outputs { get; } = [];
    }

    private sealed class FakeHandler(FakeControlPlane owner, string url) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            => owner.AnswerAsync(url, request, cancellationToken);
    }
}
