using System.Net.Sockets;

namespace Modal;

/// <summary>
/// <c>unix:/path</c> control plane URLs: a podman worker has no network, and talks gRPC (HTTP/2 cleartext) to the control
/// plane over a Unix domain socket that the launcher mounts into its container.
/// </summary>
internal static class UnixSocket
{
    private const string Scheme = "unix:";

    /// <summary>Whether <paramref name="url"/> is a <c>unix:</c> URL.</summary>
    public static bool IsUnixUrl(string url) => url.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase);

    /// <summary>The socket path of a <c>unix:/path</c> (or <c>unix:///path</c>) URL; null when it is not one with an absolute path.</summary>
    public static string? PathOf(string url)
    {
        if (!IsUnixUrl(url))
        {
            return null;
        }
        string path = url[Scheme.Length..];
        if (path.StartsWith("//", StringComparison.Ordinal))
        {
            path = path[2..];
        }
        return path.StartsWith('/') && path.Length > 1 ? path : null;
    }

    /// <summary>The <see cref="SocketsHttpHandler.ConnectCallback"/> that connects every HTTP connection to <paramref name="path"/>.</summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> Connector(string path) =>
        async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
}
