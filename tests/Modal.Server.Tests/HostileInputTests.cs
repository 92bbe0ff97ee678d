using Grpc.Core;
using Microsoft.Extensions.Logging;
using Modal.Api;
using Modal.Server.Services;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

/// <summary>Malformed requests get a specific status and a message naming the field; internal failures reveal nothing but an id.</summary>
public sealed class HostileInputTests
{
    private static async Task<RpcException> RefusedAsync<T>(Func<Task<T>> call) => await Assert.ThrowsAsync<RpcException>(call);

    [Fact]
    public async Task Each_bad_field_gets_invalid_argument_naming_the_field()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());

        async Task Expect<T>(string field, Func<Task<T>> call)
        {
            var refused = await RefusedAsync(call);
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            Assert.Contains(field, refused.Status.Detail, StringComparison.Ordinal);
        }

        await Expect("function_id", () => server.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = "fu-1; DROP TABLE apps" }).ResponseAsync);
        await Expect("invocation", () => server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, Invocation = (FunctionCallInvocation)7, PipelinedInputs = { Payloads.Input(0, 1) },
        }).ResponseAsync);
        await Expect("pipelined_inputs[1].index", () => server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, PipelinedInputs = { Payloads.Input(0, 1), Payloads.Input(0, 2) },
        }).ResponseAsync);
        await Expect("pipelined_inputs[0].index", () => server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, PipelinedInputs = { Payloads.Input(-3, 1) },
        }).ResponseAsync);
        await Expect("max_outputs", () => server.Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest { FunctionCallId = "fc-x", MaxOutputs = -1 }).ResponseAsync);
        await Expect("timeout_seconds", () => server.Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest
        {
            FunctionCallId = "fc-x", TimeoutSeconds = double.NaN,
        }).ResponseAsync);
        await Expect("name", () => server.Client.AppCreateAsync(new AppCreateRequest { Name = new string('a', 300) }).ResponseAsync);
        await Expect("kind", () => server.Client.AppCreateAsync(new AppCreateRequest { Name = "k", Kind = (AppKind)9 }).ResponseAsync);
        await Expect("DOTNET_STARTUP_HOOKS", () => server.Client.AppCreateAsync(new AppCreateRequest
        {
            Name = "hooks", Launch = new WorkerLaunchSpec { Environment = { ["DOTNET_STARTUP_HOOKS"] = "/tmp/evil.dll" } },
        }).ResponseAsync);
        await Expect("LD_PRELOAD", () => server.Client.AppCreateAsync(new AppCreateRequest
        {
            Name = "preload", Launch = new WorkerLaunchSpec { Environment = { ["LD_PRELOAD"] = "/tmp/evil.so" } },
        }).ResponseAsync);
        await Expect("blob_id", () => server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId, PipelinedInputs = { new FunctionInputItem { Arguments = new Payload { BlobId = "../../etc/passwd" } } },
        }).ResponseAsync);
    }

    [Fact]
    public async Task An_internal_failure_tells_the_caller_a_correlation_id_and_logs_the_details_under_it()
    {
        var logged = new List<string>();
        var interceptor = new ErrorInterceptor(new ListLogger(logged));
        var context = new FakeCallContext("/modal.api.v1.ModalClient/AppList");

        var refused = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler<AppListRequest, AppListResponse>(
            new AppListRequest(), context, (_, _) => throw new InvalidOperationException("connection string Password=hunter2")));

        Assert.Equal(StatusCode.Internal, refused.StatusCode);
        Assert.DoesNotContain("hunter2", refused.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", refused.Status.Detail, StringComparison.Ordinal);
        string correlation = refused.Trailers.GetValue(ErrorInterceptor.CorrelationTrailer)!;
        Assert.StartsWith("err-", correlation, StringComparison.Ordinal);
        Assert.Contains(correlation, refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(logged, line => line.Contains(correlation, StringComparison.Ordinal) && line.Contains("hunter2", StringComparison.Ordinal));
    }

    private sealed class ListLogger(List<string> lines) : ILogger<ErrorInterceptor>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Add(formatter(state, exception) + " " + exception);
    }

    private sealed class FakeCallContext(string method) : ServerCallContext
    {
        protected override string MethodCore => method;
        protected override string HostCore => "localhost";
        protected override string PeerCore => "ipv4:127.0.0.1:1";
        protected override DateTime DeadlineCore => DateTime.MaxValue;
        protected override Metadata RequestHeadersCore { get; } = [];
        protected override CancellationToken CancellationTokenCore => CancellationToken.None;
        protected override Metadata ResponseTrailersCore { get; } = [];
        protected override Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore => new(null, []);
        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();
        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
