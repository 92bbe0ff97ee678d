using Modal.Api;

namespace Modal;

/// <summary>
/// Renews the leases of the inputs the container runs, about once a second (<c>ContainerHeartbeat</c>), and passes
/// the answer's cancellations and stop request to the host. A beat rides out a restart or failover of the control
/// plane for the connection's retry window; the container stops when it is spent, or when the control plane no
/// longer knows the container.
/// </summary>
internal sealed class HeartbeatLoop
{
    private static readonly TimeSpan s_interval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_beatLimit = TimeSpan.FromSeconds(10);

    private readonly GrpcConnection _connection;
    private readonly Func<IReadOnlyCollection<ActiveInput>> _activeInputs;
    private readonly Func<double?> _slotUtilization;
    private readonly Action<string, int> _cancelInput;
    private readonly Action<string> _stop;

    public HeartbeatLoop(GrpcConnection connection, Func<IReadOnlyCollection<ActiveInput>> activeInputs, Func<double?> slotUtilization,
        Action<string, int> cancelInput, Action<string> stop)
    {
        _connection = connection;
        _activeInputs = activeInputs;
        _slotUtilization = slotUtilization;
        _cancelInput = cancelInput;
        _stop = stop;
    }

    /// <summary>Beats until <paramref name="stop"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                // Each try lists the inputs running at that moment; the slots' utilization is measured once per beat.
                double? utilization = _slotUtilization();
                ContainerHeartbeatRequest? sent = null;
                var response = await _connection.CallAsync(
                    (e, o) => e.Worker.ContainerHeartbeatAsync(sent = NewRequest(utilization), o), stop, s_beatLimit).ConfigureAwait(false);
                foreach (var inputId in response.CancelledInputIds)
                {
                    // The attempt this beat reported: a later attempt of the same input, given to this container since,
                    // is not the one the control plane cancelled.
                    if (sent?.ActiveInputs.FirstOrDefault(a => a.InputId == inputId) is { } reported)
                    {
                        _cancelInput(inputId, reported.Attempt);
                    }
                }
                if (response.Stop)
                {
                    _stop(WorkerHost.StopRequested);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is NotFoundException or AuthenticationException)
            {
                _stop($"the control plane no longer knows this container ({exception.Message})");
            }
            catch (ConnectionException exception)
            {
                _stop($"the control plane has not answered heartbeats for the retry window ({exception.Message})");
            }
            catch (ModalException)
            {
                // Any other refusal: the next beat tries again.
            }
            try
            {
                await Task.Delay(s_interval, _connection.Time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private ContainerHeartbeatRequest NewRequest(double? utilization)
    {
        var request = new ContainerHeartbeatRequest();
        request.ActiveInputs.AddRange(_activeInputs());
        if (utilization is { } measured)
        {
            request.SlotUtilization = measured;
        }
        return request;
    }
}
