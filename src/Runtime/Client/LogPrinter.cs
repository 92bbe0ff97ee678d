using Grpc.Core;
using Modal.Api;

namespace Modal;

/// <summary>
/// Follows an app's container output (<c>AppGetLogs</c>) and writes each line to this process's console as
/// <c>[FunctionName] text</c>, stderr lines to <see cref="Console.Error"/>. Reconnects (to the next replica that
/// answers, with backoff) until disposed, so a restart of the control plane only pauses the output.
/// </summary>
internal sealed class LogPrinter : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private LogPrinter(GrpcConnection connection, string appId)
        => _loop = Task.Run(() => FollowAsync(connection, appId, _stop.Token));

    /// <summary>Starts following the app's logs.</summary>
    public static LogPrinter Start(GrpcConnection connection, string appId) => new(connection, appId);

    /// <summary>Formats one line as it is printed.</summary>
    public static string Format(LogLine line)
        => string.IsNullOrEmpty(line.FunctionName) ? line.Text : $"[{line.FunctionName}] {line.Text}";

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private static async Task FollowAsync(GrpcConnection connection, string appId, CancellationToken stop)
    {
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            var endpoint = connection.NextEndpoint();
            try
            {
                using var call = endpoint.Client.AppGetLogs(new AppGetLogsRequest { AppId = appId }, connection.Options(stop));
                while (await call.ResponseStream.MoveNext(stop).ConfigureAwait(false))
                {
                    failures = 0;
                    endpoint.MarkHealthy();
                    var line = call.ResponseStream.Current;
                    var writer = line.Stderr ? Console.Error : Console.Out;
                    writer.WriteLine(Format(line));
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException exception) when (exception.StatusCode is StatusCode.NotFound or StatusCode.Unimplemented or StatusCode.Unauthenticated)
            {
                return;
            }
            catch (RpcException)
            {
                failures++;
                endpoint.MarkFailed();
            }
            try
            {
                await Task.Delay(RetryBudget.Backoff(failures + 1), connection.Time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
