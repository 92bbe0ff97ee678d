using System.Text;
using System.Threading.Channels;
using Modal.Api;

namespace Modal;

/// <summary>
/// Replaces the worker's stdout and stderr with writers that split what the function writes into lines, tag each
/// with the input that wrote it, and ship them in batches (<c>ContainerLogs</c>) from a background loop, so a
/// function never waits on the network to print.
/// </summary>
internal sealed class ConsoleCapture
{
    private const int MaxBatchLines = 500;
    private const int MaxLineLength = 16 * 1024;
    private const int MaxQueuedLines = 100_000;

    private static readonly TimeSpan s_sendLimit = TimeSpan.FromSeconds(10);

    private readonly GrpcConnection _connection;
    private readonly string _functionName;
    private readonly string _containerId;
    private readonly Channel<LogLine> _lines = Channel.CreateBounded<LogLine>(
        new BoundedChannelOptions(MaxQueuedLines) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly LineWriter _out;
    private readonly LineWriter _error;
    private readonly Task _loop;

    private ConsoleCapture(GrpcConnection connection, string functionName, string containerId)
    {
        _connection = connection;
        _functionName = functionName;
        _containerId = containerId;
        OriginalError = Console.Error;
        _out = new LineWriter(this, stderr: false);
        _error = new LineWriter(this, stderr: true);
        _loop = Task.Run(SendLoopAsync);
    }

    /// <summary>The process's own stderr, for the worker's diagnostics.</summary>
    public TextWriter OriginalError { get; }

    /// <summary>Captures the console from now on.</summary>
    public static ConsoleCapture Install(GrpcConnection connection, string functionName, string containerId)
    {
        var capture = new ConsoleCapture(connection, functionName, containerId);
        Console.SetOut(capture._out);
        Console.SetError(capture._error);
        return capture;
    }

    /// <summary>Ships partial lines and everything queued, within a limit.</summary>
    public async Task FlushAsync(TimeSpan limit)
    {
        _out.Flush();
        _error.Flush();
        _lines.Writer.TryComplete();
        await Task.WhenAny(_loop, Task.Delay(limit)).ConfigureAwait(false);
    }

    private void Emit(string text, bool stderr)
    {
        for (var offset = 0; offset == 0 || offset < text.Length; offset += MaxLineLength)
        {
            _lines.Writer.TryWrite(new LogLine
            {
                FunctionName = _functionName,
                ContainerId = _containerId,
                InputId = WorkerContext.CurrentInputId ?? string.Empty,
                Stderr = stderr,
                Text = text.Length <= MaxLineLength ? text : text.Substring(offset, Math.Min(MaxLineLength, text.Length - offset)),
            });
            if (text.Length <= MaxLineLength)
            {
                break;
            }
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _lines.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var request = new ContainerLogsRequest();
            while (request.Lines.Count < MaxBatchLines && reader.TryRead(out var line))
            {
                request.Lines.Add(line);
            }
            try
            {
                await _connection.CallAsync((e, o) => e.Worker.ContainerLogsAsync(request, o), CancellationToken.None, s_sendLimit)
                    .ConfigureAwait(false);
            }
            catch (ModalException exception)
            {
                await OriginalError.WriteLineAsync($"modal worker: {request.Lines.Count} log line(s) not accepted: {exception.Message}").ConfigureAwait(false);
            }
        }
    }

    /// <summary>A console writer that hands complete lines to the capture.</summary>
    private sealed class LineWriter(ConsoleCapture owner, bool stderr) : TextWriter
    {
        private readonly StringBuilder _line = new();
        private readonly Lock _gate = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_gate)
            {
                Append(value);
            }
        }

        public override void Write(string? value)
        {
            if (value is null)
            {
                return;
            }
            lock (_gate)
            {
                foreach (var c in value)
                {
                    Append(c);
                }
            }
        }

        public override void Write(char[] buffer, int index, int count)
        {
            lock (_gate)
            {
                for (var i = index; i < index + count; i++)
                {
                    Append(buffer[i]);
                }
            }
        }

        public override void WriteLine(string? value)
        {
            lock (_gate)
            {
                _line.Append(value);
                EmitLine();
            }
        }

        public override void Flush()
        {
            lock (_gate)
            {
                if (_line.Length > 0)
                {
                    EmitLine();
                }
            }
        }

        private void Append(char c)
        {
            if (c == '\n')
            {
                EmitLine();
            }
            else
            {
                _line.Append(c);
            }
        }

        private void EmitLine()
        {
            var length = _line.Length;
            if (length > 0 && _line[length - 1] == '\r')
            {
                length--;
            }
            owner.Emit(_line.ToString(0, length), stderr);
            _line.Clear();
        }
    }
}
