using Grpc.Core;
using Modal.Api;

namespace Modal;

/// <summary>
/// Renews the leases of the inputs the container runs, about once a second (<c>ContainerHeartbeat</c>), and passes
/// the answer's cancellations and stop request to the host.
/// </summary>
internal sealed class HeartbeatLoop
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(1);

    /// <summary>Consecutive failures after which the server is taken to be gone.</summary>
    private const int MaxFailures = 30;

    private readonly GrpcConnection _connection;
    private readonly Func<IReadOnlyCollection<ActiveInput>> _activeInputs;
    private readonly Action<string> _cancelInput;
    private readonly Action<string> _stop;

    public HeartbeatLoop(GrpcConnection connection, Func<IReadOnlyCollection<ActiveInput>> activeInputs, Action<string> cancelInput, Action<string> stop)
    {
        _connection = connection;
        _activeInputs = activeInputs;
        _cancelInput = cancelInput;
        _stop = stop;
    }

    /// <summary>Beats until <paramref name="stop"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var request = new ContainerHeartbeatRequest();
                request.ActiveInputs.AddRange(_activeInputs());
                using var call = _connection.Worker.ContainerHeartbeatAsync(request, _connection.Options(stop, TimeSpan.FromSeconds(10)));
                var response = await call.ResponseAsync.ConfigureAwait(false);
                failures = 0;
                foreach (var inputId in response.CancelledInputIds)
                {
                    _cancelInput(inputId);
                }
                if (response.Stop)
                {
                    _stop(WorkerHost.StopRequested);
                }
            }
            catch (RpcException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException exception) when (exception.StatusCode is StatusCode.NotFound or StatusCode.Unauthenticated or StatusCode.PermissionDenied)
            {
                _stop($"the control plane no longer knows this container ({exception.Status.Detail})");
            }
            catch (RpcException exception)
            {
                if (++failures >= MaxFailures)
                {
                    _stop($"the control plane has not answered heartbeats for {MaxFailures} s ({exception.Status.Detail})");
                }
            }
            try
            {
                await Task.Delay(s_interval, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
