using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Modal.Server.Services;

/// <summary>
/// A request message that does not decode (malformed protobuf) fails in gRPC's own call handler, before any interceptor,
/// and would reach the caller as a bare UNKNOWN. Every exception of the services themselves becomes a specific status in
/// <see cref="ErrorInterceptor"/>, so an UNKNOWN left at the end of a call can only be such a message: it is rewritten
/// to INVALID_ARGUMENT naming the RPC, and logged with a correlation id.
/// </summary>
internal static class UndecodableRequests
{
    private const string StatusKey = "grpc-status";
    private const string MessageKey = "grpc-message";
    private const string Unknown = "2";
    private const string InvalidArgument = "3";

    public static async Task RewriteAsync(HttpContext context, Func<Task> next)
    {
        await next().ConfigureAwait(false);
        IHeaderDictionary? target = null;
        if (!context.Response.HasStarted && context.Response.Headers[StatusKey] == Unknown)
        {
            target = context.Response.Headers;
        }
        else if (context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { } trailers && !trailers.IsReadOnly && trailers[StatusKey] == Unknown)
        {
            target = trailers;
        }
        if (target is null || context.RequestAborted.IsCancellationRequested
            || (context.RequestServices.GetService(typeof(Microsoft.Extensions.Hosting.IHostApplicationLifetime))
                as Microsoft.Extensions.Hosting.IHostApplicationLifetime)?.ApplicationStopping.IsCancellationRequested == true)
        {
            // An UNKNOWN of a call whose caller left, or of a server that is stopping, is a cut connection, not a bad message.
            return;
        }
        string correlation = "err-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        (context.RequestServices.GetService(typeof(ILogger<ErrorInterceptor>)) as ILogger)?.LogWarning(
            "{Method}: the request could not be decoded (correlation id {Correlation})", context.Request.Path.Value, correlation);
        target[StatusKey] = InvalidArgument;
        target[MessageKey] = Uri.EscapeDataString(
            $"{context.Request.Path.Value}: the request is not a valid protobuf message of its type (correlation id {correlation}).");
        target[ErrorInterceptor.CorrelationTrailer] = correlation;
    }
}
