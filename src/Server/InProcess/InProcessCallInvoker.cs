using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.DependencyInjection;
using Modal.Api;
using Modal.Server.Services;

namespace Modal.Server.InProcess;

/// <summary>
/// The caller-facing unary RPCs of an embedded control plane, for the app in the same process: each call runs the same
/// interceptors (errors, authentication, tracing) and the same <see cref="ModalClientService"/> method as a call over
/// HTTP/2 would, with no network between them. A warm <c>RemoteAsync</c> then crosses one gRPC round trip (to its
/// worker) instead of two. Messages pass as their protobuf bytes, as on the wire: the runtime and this assembly each
/// compile the API's messages as types of their own, and neither side can see the other change a message. Streaming
/// calls (uploads, logs, generator items) and anything else go over the network invoker it is given.
/// </summary>
internal sealed class InProcessCallInvoker : CallInvoker
{
    private readonly CallInvoker _network;
    private readonly CancellationToken _stopping;
    private readonly Dictionary<string, UnaryBytesMethod> _unary;

    public InProcessCallInvoker(IServiceProvider services, CallInvoker network, CancellationToken stopping)
    {
        _network = network;
        _stopping = stopping;
        var interceptors = ControlPlane.InterceptorTypes.Select(type => (Interceptor)ActivatorUtilities.CreateInstance(services, type)).ToArray();
        var binder = new UnaryBinder(interceptors);
        ModalClient.BindService(binder, ActivatorUtilities.CreateInstance<ModalClientService>(services));
        _unary = binder.Methods;
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host,
        CallOptions options, TRequest request)
    {
        if (!_unary.TryGetValue(method.FullName, out var handler))
        {
            return _network.AsyncUnaryCall(method, host, options, request);
        }
        var call = new Call<TRequest, TResponse>(method, handler, options, _stopping);
        // On the thread pool, as a request arriving over the network would run: the caller's thread never runs the control
        // plane's code (a commit, for one) on its own stack, so a caller that sends several requests at once is not held.
        var response = Task.Run(() => call.RunAsync(request));
        return new AsyncUnaryCall<TResponse>(response, Task.FromResult(new Metadata()), call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options,
        TRequest request) => _network.BlockingUnaryCall(method, host, options, request);

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method,
        string? host, CallOptions options, TRequest request) => _network.AsyncServerStreamingCall(method, host, options, request);

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method,
        string? host, CallOptions options) => _network.AsyncClientStreamingCall(method, host, options);

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method,
        string? host, CallOptions options) => _network.AsyncDuplexStreamingCall(method, host, options);

    /// <summary>One unary call: its cancellation (the caller's token, its deadline, the control plane stopping) and its outcome.</summary>
    private sealed class Call<TRequest, TResponse>(
        Method<TRequest, TResponse> method, UnaryBytesMethod handler, CallOptions options, CancellationToken stopping)
        where TRequest : class where TResponse : class
    {
        private readonly CancellationTokenSource _cancel = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken, stopping);
        private Status _status;
        private Metadata _trailers = [];

        public Status GetStatus() => _status;

        public Metadata GetTrailers() => _trailers;

        /// <summary>The caller is done with the call: a handler still running is cancelled, as a reset stream would cancel it.</summary>
        public void Dispose()
        {
            try
            {
                _cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The call had ended.
            }
        }

        public async Task<TResponse> RunAsync(TRequest request)
        {
            try
            {
                if (stopping.IsCancellationRequested)
                {
                    throw new RpcException(s_stopped);
                }
                options.CancellationToken.ThrowIfCancellationRequested();
                if (options.Deadline is { } deadline && deadline != DateTime.MaxValue)
                {
                    var left = deadline.ToUniversalTime() - DateTime.UtcNow;
                    _cancel.CancelAfter(left <= TimeSpan.Zero ? TimeSpan.Zero : left < s_longestTimer ? left : s_longestTimer);
                }
                var context = new InProcessServerCallContext(method.FullName, options.Headers ?? [], options.Deadline ?? DateTime.MaxValue, _cancel.Token);
                var response = await handler(MessageBytes.Serialize(method.RequestMarshaller, request), context).ConfigureAwait(false);
                _trailers = context.ResponseTrailers;
                _status = Status.DefaultSuccess;
                return MessageBytes.Deserialize(method.ResponseMarshaller, response);
            }
            catch (RpcException exception)
            {
                _status = exception.Status;
                _trailers = exception.Trailers;
                throw;
            }
            catch (OperationCanceledException) when (_cancel.IsCancellationRequested || options.CancellationToken.IsCancellationRequested)
            {
                _status = options.CancellationToken.IsCancellationRequested ? new Status(StatusCode.Cancelled, "Call canceled by the client.")
                    : stopping.IsCancellationRequested ? s_stopped
                    : new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
                throw new RpcException(_status);
            }
            catch (Exception exception)
            {
                // The error interceptor answers every failure with a status; this is only for a fault outside it.
                _status = new Status(StatusCode.Unknown, "Exception was thrown by handler.", exception);
                throw new RpcException(_status);
            }
            finally
            {
                // Unregisters from the caller's token and the control plane's stopping token, and stops the deadline's timer.
                _cancel.Dispose();
            }
        }
    }

    /// <summary>What a call gets once the control plane has stopped, as a caller over the network gets a refused connection.</summary>
    private static readonly Status s_stopped = new(StatusCode.Unavailable, "The embedded control plane has stopped.");

    /// <summary>The longest timer <see cref="CancellationTokenSource.CancelAfter(TimeSpan)"/> takes (a longer deadline never fires first).</summary>
    private static readonly TimeSpan s_longestTimer = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>A unary method of the service, its interceptors included, from the request's bytes to the response's.</summary>
    private delegate Task<byte[]> UnaryBytesMethod(byte[] request, ServerCallContext context);

    /// <summary>Collects each unary method of a service, wrapped in the interceptors (the first outermost, as gRPC orders them).</summary>
    private sealed class UnaryBinder(Interceptor[] interceptors) : ServiceBinderBase
    {
        public Dictionary<string, UnaryBytesMethod> Methods { get; } = new(StringComparer.Ordinal);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            if (handler is null)
            {
                return;
            }
            var pipeline = handler;
            for (int i = interceptors.Length - 1; i >= 0; i--)
            {
                var interceptor = interceptors[i];
                var next = pipeline;
                pipeline = (request, context) => interceptor.UnaryServerHandler(request, context, next);
            }
            Methods[method.FullName] = async (request, context) =>
                MessageBytes.Serialize(method.ResponseMarshaller, await pipeline(MessageBytes.Deserialize(method.RequestMarshaller, request), context).ConfigureAwait(false));
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
        }
    }
}
