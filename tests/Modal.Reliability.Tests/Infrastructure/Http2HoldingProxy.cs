using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Modal.Reliability.Tests;

/// <summary>
/// A loopback TCP proxy in front of a control plane that reads the HTTP/2 frames (cleartext, prior knowledge) passing
/// through it, and holds back the body of the first response whose gRPC message is at least a given size: the headers
/// and first DATA frame reach the client, so the client is in the middle of reading that response, and the rest stays
/// in the proxy until <see cref="ReleaseAsync"/>, or until the client resets the stream. Every other stream flows freely.
/// </summary>
/// <remarks>
/// Holding DATA frames never reorders HEADERS frames (whose HPACK state depends on their order): the held response is
/// larger than the client's stream window, so the server cannot reach its trailers while the body is held.
/// </remarks>
public sealed class Http2HoldingProxy : IAsyncDisposable
{
    private const int FrameHeaderLength = 9;
    private const byte DataFrame = 0x0;
    private const byte HeadersFrame = 0x1;
    private const byte ResetStreamFrame = 0x3;
    private const byte ContinuationFrame = 0x9;
    private const byte PaddedFlag = 0x8;
    private static readonly int s_clientPrefaceLength = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".Length;

    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly int _holdMessagesOfAtLeast;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<int> _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _clientReset = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Connection> _connections = [];
    private readonly Task _acceptLoop;
    private int _armed = 1;

    private Http2HoldingProxy(IPEndPoint target, int holdMessagesOfAtLeast)
    {
        _target = target;
        _holdMessagesOfAtLeast = holdMessagesOfAtLeast;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The URL clients use instead of the control plane's.</summary>
    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Completes with the stream id once a response is held in the middle of its body.</summary>
    public Task<int> Holding => _holding.Task;

    /// <summary>Completes when the client resets the held stream (it gave up on the response while it was being read).</summary>
    public Task ClientReset => _clientReset.Task;

    /// <summary>Proxies to <paramref name="targetUrl"/> and holds the first response carrying a gRPC message of at least that many bytes.</summary>
    public static Http2HoldingProxy Start(string targetUrl, int holdMessagesOfAtLeast)
    {
        var uri = new Uri(targetUrl);
        return new Http2HoldingProxy(new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port), holdMessagesOfAtLeast);
    }

    /// <summary>Sends the held frames on to the client, in order; nothing is held after this.</summary>
    public async Task ReleaseAsync()
    {
        Interlocked.Exchange(ref _armed, 0);
        List<Connection> connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }
        foreach (var connection in connections)
        {
            await connection.ReleaseAsync().ConfigureAwait(false);
        }
    }

    private bool TryHold(int messageLength) => messageLength >= _holdMessagesOfAtLeast && Interlocked.Exchange(ref _armed, 0) == 1;

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
                var server = new TcpClient { NoDelay = true };
                client.NoDelay = true;
                try
                {
                    await server.ConnectAsync(_target, _stop.Token).ConfigureAwait(false);
                }
                catch (SocketException)
                {
                    client.Dispose();
                    server.Dispose();
                    continue;
                }
                var connection = new Connection(this, client, server);
                lock (_connections)
                {
                    _connections.Add(connection);
                }
                connection.Start();
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The proxy stopped.
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _acceptLoop.ConfigureAwait(false);
        List<Connection> connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }
        foreach (var connection in connections)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        _stop.Dispose();
    }

    /// <summary>One client connection and its connection to the control plane, pumped frame by frame.</summary>
    private sealed class Connection(Http2HoldingProxy proxy, TcpClient client, TcpClient server) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _toClient = new(1, 1);
        private readonly List<byte[]> _held = [];
        private readonly HashSet<int> _streamsWithData = [];
        private int _heldStream;
        private bool _holdEverything;
        private Task _pumps = Task.CompletedTask;

        public void Start()
            => _pumps = Task.WhenAll(Task.Run(ServerToClientAsync), Task.Run(ClientToServerAsync));

        public async Task ReleaseAsync()
        {
            await _toClient.WaitAsync().ConfigureAwait(false);
            try
            {
                await ReleaseLockedAsync().ConfigureAwait(false);
            }
            finally
            {
                _toClient.Release();
            }
        }

        private async Task ReleaseLockedAsync()
        {
            _heldStream = -1;
            _holdEverything = false;
            foreach (var frame in _held)
            {
                await client.GetStream().WriteAsync(frame).ConfigureAwait(false);
            }
            _held.Clear();
        }

        private async Task ServerToClientAsync()
        {
            try
            {
                var input = server.GetStream();
                while (await ReadFrameAsync(input).ConfigureAwait(false) is { } frame)
                {
                    await _toClient.WaitAsync().ConfigureAwait(false);
                    try
                    {
                        await ForwardToClientLockedAsync(frame).ConfigureAwait(false);
                    }
                    finally
                    {
                        _toClient.Release();
                    }
                }
            }
            catch (Exception exception) when (exception is IOException or ObjectDisposedException or SocketException)
            {
            }
            finally
            {
                ShutdownSending(client);
            }
        }

        private async Task ForwardToClientLockedAsync(byte[] frame)
        {
            var type = frame[3];
            var streamId = StreamId(frame);
            if (_holdEverything || (streamId == _heldStream && type == DataFrame))
            {
                _held.Add(frame);
                return;
            }
            if (streamId == _heldStream && type is HeadersFrame or ContinuationFrame)
            {
                // Not expected (see the remarks): keep every frame in order from here on rather than corrupt HPACK state.
                _holdEverything = true;
                _held.Add(frame);
                return;
            }
            if (streamId == _heldStream && type == ResetStreamFrame)
            {
                await ReleaseLockedAsync().ConfigureAwait(false);
            }
            await client.GetStream().WriteAsync(frame).ConfigureAwait(false);
            if (type == DataFrame && _heldStream == 0 && _streamsWithData.Add(streamId)
                && GrpcMessageLength(frame) is { } length && proxy.TryHold(length))
            {
                _heldStream = streamId;
                proxy._holding.TrySetResult(streamId);
            }
        }

        private async Task ClientToServerAsync()
        {
            try
            {
                var input = client.GetStream();
                var output = server.GetStream();
                var preface = new byte[s_clientPrefaceLength];
                await input.ReadExactlyAsync(preface).ConfigureAwait(false);
                await output.WriteAsync(preface).ConfigureAwait(false);
                while (await ReadFrameAsync(input).ConfigureAwait(false) is { } frame)
                {
                    if (frame[3] == ResetStreamFrame && StreamId(frame) == Volatile.Read(ref _heldStream))
                    {
                        proxy._clientReset.TrySetResult();
                        await ReleaseAsync().ConfigureAwait(false);
                    }
                    await output.WriteAsync(frame).ConfigureAwait(false);
                }
            }
            catch (Exception exception) when (exception is IOException or ObjectDisposedException or SocketException or EndOfStreamException)
            {
            }
            finally
            {
                ShutdownSending(server);
            }
        }

        /// <summary>Passes an end of stream on to the other side (nothing to do once the connection is closed).</summary>
        private static void ShutdownSending(TcpClient side)
        {
            try
            {
                side.Client?.Shutdown(SocketShutdown.Send);
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
            {
            }
        }

        private static int StreamId(byte[] frame) => (int)(BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(5, 4)) & 0x7FFF_FFFF);

        /// <summary>The length a DATA frame's gRPC message prefix announces (the frame must start the message).</summary>
        private static int? GrpcMessageLength(byte[] frame)
        {
            var data = frame.AsSpan(FrameHeaderLength);
            if ((frame[4] & PaddedFlag) != 0)
            {
                if (data.Length == 0 || data[0] + 1 > data.Length)
                {
                    return null;
                }
                data = data[1..^data[0]];
            }
            return data.Length >= 5 ? (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(data[1..5]), int.MaxValue) : null;
        }

        /// <summary>One whole frame (header and payload), or null at the end of the stream.</summary>
        private static async Task<byte[]?> ReadFrameAsync(NetworkStream input)
        {
            var header = new byte[FrameHeaderLength];
            var read = await input.ReadAtLeastAsync(header, FrameHeaderLength, throwOnEndOfStream: false).ConfigureAwait(false);
            if (read < FrameHeaderLength)
            {
                return null;
            }
            var length = (header[0] << 16) | (header[1] << 8) | header[2];
            var frame = new byte[FrameHeaderLength + length];
            header.CopyTo(frame, 0);
            await input.ReadExactlyAsync(frame.AsMemory(FrameHeaderLength)).ConfigureAwait(false);
            return frame;
        }

        public async ValueTask DisposeAsync()
        {
            client.Dispose();
            server.Dispose();
            try
            {
                await _pumps.ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
            }
            _toClient.Dispose();
        }
    }
}
