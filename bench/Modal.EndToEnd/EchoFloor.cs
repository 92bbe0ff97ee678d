using System.Diagnostics;
using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Modal.EndToEnd.Echo;

namespace Modal.EndToEnd;

/// <summary>
/// The floor under <c>RemoteAsync</c>: a bare grpc-dotnet unary call on this machine, in this process. A Kestrel
/// HTTP/2 cleartext server on 127.0.0.1 with one method that echoes its bytes, and a <see cref="GrpcChannel"/> client
/// set up as the runtime sets up its channel to the control plane (<c>src/Runtime/Client/GrpcEndpoint.cs</c>), so that
/// the only difference from a warm <c>RemoteAsync</c> is what Modal does around its RPCs.
/// </summary>
internal sealed class EchoFloor : IAsyncDisposable
{
    /// <summary>The echoed payload: about what a small call's arguments take (a <c>Square(int)</c> call's are a few bytes).</summary>
    public const int PayloadBytes = 32;

    private const int MaxMessageBytes = 64 * 1024 * 1024;

    private readonly WebApplication _server;
    private readonly GrpcChannel _channel;
    private readonly UnaryEcho.UnaryEchoClient _client;

    private EchoFloor(WebApplication server, GrpcChannel channel)
    {
        _server = server;
        _channel = channel;
        _client = new UnaryEcho.UnaryEchoClient(channel);
    }

    /// <summary>Starts the server on a free loopback port and connects a client to it.</summary>
    public static async Task<EchoFloor> StartAsync()
    {
        // The control plane's Kestrel and gRPC settings (src/Server/ControlPlane.cs), without its interceptors and services.
        // As the control plane: no reloadable configuration, so no watcher on the current directory.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Limits.MaxRequestBodySize = null;
        });
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = MaxMessageBytes;
            grpc.MaxSendMessageSize = MaxMessageBytes;
            grpc.EnableDetailedErrors = false;
        });
        var server = builder.Build();
        server.MapGrpcService<EchoService>();
        await server.StartAsync().ConfigureAwait(false);
        var address = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        // The runtime's handler and channel settings (src/Runtime/Client/GrpcEndpoint.cs).
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = MaxMessageBytes,
            MaxSendMessageSize = MaxMessageBytes,
            DisposeHttpClient = true,
        });
        return new EchoFloor(server, channel);
    }

    /// <summary>Makes <paramref name="warmup"/> untimed calls, then times <paramref name="calls"/> sequential ones.</summary>
    public async Task<LatencyStats> MeasureAsync(int warmup, int calls)
    {
        var request = new EchoMessage { Payload = ByteString.CopyFrom(Enumerable.Range(0, PayloadBytes).Select(i => (byte)i).ToArray()) };
        // At least one untimed call, so that the connection is open before timing starts, as the control plane's is.
        for (var i = 0; i < Math.Max(warmup, 1); i++)
        {
            await CallAsync(request).ConfigureAwait(false);
        }
        var latencies = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await CallAsync(request).ConfigureAwait(false);
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        return LatencyStats.From(latencies);
    }

    // As the runtime makes a unary call (GrpcConnection.CallAsync): the call disposed once its response is read.
    private async Task CallAsync(EchoMessage request)
    {
        using var call = _client.EchoAsync(request);
        var reply = await call.ResponseAsync.ConfigureAwait(false);
        if (reply.Payload.Length != PayloadBytes)
        {
            throw new InvalidOperationException($"The echo returned {reply.Payload.Length} bytes; expected {PayloadBytes}.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _server.StopAsync().ConfigureAwait(false);
        await _server.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class EchoService : UnaryEcho.UnaryEchoBase
    {
        public override Task<EchoMessage> Echo(EchoMessage request, ServerCallContext context) => Task.FromResult(request);
    }
}
