using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Modal.Api;

namespace Modal.Server.Tests.Infrastructure;

/// <summary>A worker speaking the real ModalWorker protocol from the test, with the credentials the launcher handed out.</summary>
internal sealed class FakeWorker : IAsyncDisposable
{
    private readonly Metadata _headers;
    private readonly CancellationTokenSource _stop = new();
    private AsyncDuplexStreamingCall<InputCredit, InputAssignment>? _stream;
    private Task? _reader;
    private Task? _heartbeats;

    public FakeWorker(GrpcChannel channel, string containerId, string token)
    {
        Client = new ModalWorker.ModalWorkerClient(channel);
        ContainerId = containerId;
        _headers = new Metadata { { "x-modal-container-id", containerId }, { "x-modal-container-token", token } };
    }

    public ModalWorker.ModalWorkerClient Client { get; }
    public string ContainerId { get; }
    public Channel<InputAssignment> Assignments { get; } = Channel.CreateUnbounded<InputAssignment>();
    public List<string> Cancelled { get; } = [];

    /// <summary>Inputs received and not yet reported, sent in each heartbeat as a real worker does.</summary>
    private readonly Dictionary<string, int> _active = new(StringComparer.Ordinal);

    public Task<ContainerHelloResponse> HelloAsync() =>
        Client.ContainerHelloAsync(new ContainerHelloRequest { ContainerId = ContainerId }, _headers).ResponseAsync;

    /// <summary>Opens the input stream and grants credits.</summary>
    public async Task StartAsync(int credits = 1, bool heartbeat = true)
    {
        _stream = Client.FunctionGetInputs(_headers, cancellationToken: _stop.Token);
        _reader = Task.Run(async () =>
        {
            try
            {
                await foreach (var assignment in _stream.ResponseStream.ReadAllAsync(_stop.Token))
                {
                    lock (_active)
                    {
                        foreach (var input in assignment.Inputs)
                        {
                            _active[input.InputId] = input.Attempt;
                        }
                    }
                    Assignments.Writer.TryWrite(assignment);
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
            }
            catch (RpcException)
            {
            }
            finally
            {
                Assignments.Writer.TryComplete();
            }
        });
        await GrantAsync(credits);
        if (heartbeat)
        {
            _heartbeats = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        var request = new ContainerHeartbeatRequest();
                        lock (_active)
                        {
                            request.ActiveInputs.AddRange(_active.Select(a => new ActiveInput { InputId = a.Key, Attempt = a.Value }));
                        }
                        var response = await Client.ContainerHeartbeatAsync(request, _headers, cancellationToken: _stop.Token);
                        lock (Cancelled)
                        {
                            Cancelled.AddRange(response.CancelledInputIds);
                        }
                        await Task.Delay(200, _stop.Token);
                    }
                    catch (Exception)
                    {
                        return;
                    }
                }
            });
        }
    }

    public Task GrantAsync(int credits) => _stream!.RequestStream.WriteAsync(new InputCredit { FreeSlots = credits });

    public async Task<InputAssignment> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await Assignments.Reader.ReadAsync(cts.Token);
    }

    public Task PutAsync(LeasedInput input, FunctionResult result, int? attempt = null)
    {
        lock (_active)
        {
            _active.Remove(input.InputId);
        }
        return Client.FunctionPutOutputsAsync(new FunctionPutOutputsRequest
        {
            Outputs = { new FunctionOutputFromWorker { InputId = input.InputId, Attempt = attempt ?? input.Attempt, Result = result } },
        }, _headers).ResponseAsync;
    }

    public Task PutDataAsync(LeasedInput input, params DataChunk[] chunks) =>
        Client.FunctionPutDataOutAsync(new FunctionPutDataOutRequest { InputId = input.InputId, Attempt = input.Attempt, Chunks = { chunks } },
            _headers).ResponseAsync;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var task in new[] { _reader, _heartbeats })
        {
            if (task is not null)
            {
                try
                {
                    await task;
                }
                catch (Exception)
                {
                }
            }
        }
        _stream?.Dispose();
        _stop.Dispose();
    }
}
