using System.Collections.Concurrent;
using Modal.Api;
using Api = Modal.Api;

namespace Modal;

/// <summary>
/// Runs leased inputs through the generated entrypoint and reports each input's output exactly once: its result,
/// its failure (type, message, stack trace), or, as soon as its token is cancelled, Timeout (at the deadline) or
/// Terminated (when the heartbeat answer lists it), without waiting for user code that ignores the token.
/// </summary>
internal sealed class InputRunner
{
    private readonly IFunctionEntrypoint _entrypoint;
    private readonly Api.FunctionSpec _spec;
    private readonly PayloadCodec _codec;
    private readonly GrpcConnection _connection;
    private readonly OutputBatcher _outputs;
    private readonly Action<string> _onTimeout;
    private readonly Func<IClsInstance?> _instance;
    private readonly ConcurrentDictionary<string, RunningInput> _running = new(StringComparer.Ordinal);

    public InputRunner(
        IFunctionEntrypoint entrypoint, Api.FunctionSpec spec, GrpcConnection connection, PayloadCodec codec, OutputBatcher outputs, Action<string> onTimeout,
        Func<IClsInstance?>? instance = null)
    {
        _instance = instance ?? (static () => null);
        _entrypoint = entrypoint;
        _spec = spec;
        _connection = connection;
        _codec = codec;
        _outputs = outputs;
        _onTimeout = onTimeout;
    }

    /// <summary>The inputs running now, for the heartbeat.</summary>
    public IReadOnlyCollection<ActiveInput> ActiveInputs()
        => _running.Values.Select(r => new ActiveInput { InputId = r.Input.InputId, Attempt = r.Input.Attempt }).ToArray();

    /// <summary>Whether the user code of an input is still running.</summary>
    public bool IsRunning(string inputId) => _running.ContainsKey(inputId);

    /// <summary>Cancels an attempt of an input the control plane has cancelled; it reports Terminated.</summary>
    public void Terminate(string inputId, int attempt)
    {
        if (_running.TryGetValue(inputId, out var running) && running.Input.Attempt == attempt)
        {
            running.Terminate();
        }
    }

    /// <summary>Runs one assignment (one input, or one batch); completes when the user code has returned.</summary>
    public async Task RunAsync(InputAssignment assignment)
    {
        if (assignment.Inputs.Count == 0)
        {
            return;
        }
        // The span of the run continues the caller's trace (through the control plane's span) carried in the arguments;
        // calls the function makes are its children.
        var first = assignment.Inputs[0];
        using var activity = ModalTelemetry.Source.StartActivity(
            $"modal.run {_spec.Name}", System.Diagnostics.ActivityKind.Server, ModalTelemetry.ParentOf(first.Arguments));
        activity?.SetTag("modal.function", _spec.Name);
        activity?.SetTag("modal.input_id", first.InputId);
        activity?.SetTag("modal.attempt", first.Attempt);
        if (first.Attempt > 1)
        {
            Hosting.ModalLog.RetryStarted(_spec.Name, first.InputId, first.Attempt);
        }
        var outcome = "success";
        using var cancellation = new CancellationTokenSource();
        var inputs = assignment.Inputs.Select(input => new RunningInput(input, this, cancellation)).ToArray();
        foreach (var input in inputs)
        {
            input.Group = inputs;
            _running[input.Input.InputId] = input;
        }
        using var onCancel = cancellation.Token.Register(() =>
        {
            foreach (var input in inputs)
            {
                input.ReportCancelled();
            }
        });
        // The timeout covers the function's own run, so it starts now rather than at the server's assignment (whose
        // deadline, plus a grace period, is the server's backstop for a worker that does not stop).
        if (_spec.TimeoutSeconds > 0)
        {
            cancellation.CancelAfter(TimeSpan.FromSeconds(_spec.TimeoutSeconds));
        }
        try
        {
            WorkerContext.CurrentInputId = inputs[0].Input.InputId;
            await RunCoreAsync(inputs, cancellation.Token).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            outcome = cancellation.IsCancellationRequested ? "cancelled" : "failure";
            ModalTelemetry.Fail(activity, exception);
            if (!cancellation.IsCancellationRequested)
            {
                Hosting.ModalLog.AttemptFailed(_spec.Name, first.InputId, first.Attempt, exception);
            }
            foreach (var input in inputs)
            {
                if (cancellation.IsCancellationRequested)
                {
                    // The token's flag is set before its callbacks run: report the cancellation, not the exception it caused.
                    input.ReportCancelled();
                }
                else
                {
                    input.Report(Failure(exception));
                }
            }
        }
        finally
        {
            ModalTelemetry.InputsRun.Add(inputs.Length, new KeyValuePair<string, object?>("modal.function", _spec.Name),
                new KeyValuePair<string, object?>("modal.outcome", outcome));
            WorkerContext.CurrentInputId = null;
            foreach (var input in inputs)
            {
                // Only this attempt: a later attempt of the same input may run here already.
                _running.TryRemove(new KeyValuePair<string, RunningInput>(input.Input.InputId, input));
            }
        }
    }

    /// <summary>The result a user exception is reported as.</summary>
    public static Api.FunctionResult Failure(Exception exception) => new()
    {
        Status = Api.InputStatus.Failure,
        ExceptionType = exception is InvalidInputException ? OutputMapper.InvalidInputTypeName : exception.GetType().FullName ?? exception.GetType().Name,
        ExceptionMessage = exception.Message,
        StackTrace = exception.StackTrace ?? string.Empty,
    };

    private async Task RunCoreAsync(RunningInput[] inputs, CancellationToken cancellationToken)
    {
        var arguments = new ReadOnlyMemory<byte>[inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            arguments[i] = await _codec.DecodeAsync(inputs[i].Input.Arguments, cancellationToken).ConfigureAwait(false);
        }
        if (_spec.Kind == Api.FunctionKind.Batched)
        {
            var results = await _entrypoint.InvokeBatchAsync(_spec.Name, arguments, cancellationToken).ConfigureAwait(false);
            if (results.Count != inputs.Length)
            {
                throw new InvalidOperationException(
                    $"Batched function '{_spec.Name}' returned {results.Count} output(s) for a batch of {inputs.Length} input(s); it must return one per input, in order.");
            }
            for (var i = 0; i < inputs.Length; i++)
            {
                inputs[i].Report(await SuccessAsync(results[i], cancellationToken).ConfigureAwait(false));
            }
            return;
        }
        foreach (var (input, argument) in inputs.Zip(arguments))
        {
            if (_spec.Kind == Api.FunctionKind.Generator || input.Input.IsGeneratorCall)
            {
                await RunGeneratorAsync(input, argument, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var value = _instance() is { } cls
                    ? await cls.InvokeAsync(argument, cancellationToken).ConfigureAwait(false)
                    : await _entrypoint.InvokeAsync(_spec.Name, argument, cancellationToken).ConfigureAwait(false);
                input.Report(await SuccessAsync(value, cancellationToken).ConfigureAwait(false));
            }
        }
    }

    private async Task RunGeneratorAsync(RunningInput input, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var sender = new DataOutSender(_connection, _codec, input.Input, _spec.Name);
        long count = 0;
        Exception? failure = null;
        try
        {
            var items = _instance() is { } cls
                ? cls.InvokeGeneratorAsync(arguments, cancellationToken)
                : _entrypoint.InvokeGeneratorAsync(_spec.Name, arguments, cancellationToken);
            await foreach (var item in items.ConfigureAwait(false))
            {
                await sender.AddAsync(count++, item, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception exception)
        {
            failure = exception;
        }
        await sender.CompleteAsync().ConfigureAwait(false);
        if (failure is not null && cancellationToken.IsCancellationRequested)
        {
            input.ReportCancelled();
            return;
        }
        var result = failure is null
            ? new Api.FunctionResult { Status = Api.InputStatus.Success, Data = new Payload { Inline = Google.Protobuf.ByteString.CopyFrom(ModalSerializer.Nil.Span) } }
            : Failure(failure);
        result.GeneratorCount = count;
        input.Report(result);
    }

    private async Task<Api.FunctionResult> SuccessAsync(ReadOnlyMemory<byte> value, CancellationToken cancellationToken) => new()
    {
        Status = Api.InputStatus.Success,
        Data = await _codec.EncodeAsync(value, $"the result of '{_spec.Name}'", cancellationToken).ConfigureAwait(false),
    };

    /// <summary>One input in flight: reports once, whichever comes first of its result, its failure or its cancellation.</summary>
    private sealed class RunningInput(LeasedInput input, InputRunner runner, CancellationTokenSource cancellation)
    {
        private int _reported;
        private volatile bool _terminated;

        public LeasedInput Input { get; } = input;

        /// <summary>The inputs of the same assignment (one, or a whole batch), which share one token.</summary>
        public RunningInput[] Group { get; set; } = [];

        public void Terminate()
        {
            _terminated = true;
            ReportCancelled();
            if (!Group.All(member => member._terminated))
            {
                // The rest of the batch goes on; this input's late output is dropped as a duplicate.
                return;
            }
            try
            {
                cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The input finished meanwhile.
            }
        }

        public void ReportCancelled()
        {
            if (_terminated)
            {
                Report(new Api.FunctionResult
                {
                    Status = Api.InputStatus.Terminated,
                    ExceptionMessage = $"Input {Input.InputId} of '{runner._spec.Name}' was cancelled before it finished.",
                });
            }
            else if (Report(new Api.FunctionResult
            {
                Status = Api.InputStatus.Timeout,
                ExceptionMessage = $"Input {Input.InputId} of '{runner._spec.Name}' ran past its timeout of {runner._spec.TimeoutSeconds} s and was cancelled.",
            }))
            {
                runner._onTimeout(Input.InputId);
            }
        }

        public bool Report(Api.FunctionResult result)
        {
            if (Interlocked.Exchange(ref _reported, 1) != 0)
            {
                return false;
            }
            // The result says which attempt made it, so that a caller's final failure can say how many were made.
            result.Attempt = Input.Attempt;
            runner._outputs.Enqueue(new FunctionOutputFromWorker { InputId = Input.InputId, Attempt = Input.Attempt, Result = result });
            return true;
        }
    }
}
