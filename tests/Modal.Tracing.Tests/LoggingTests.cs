namespace Modal.Tracing.Tests;

/// <summary>The runtime's ILogger output, from a caller and its workers, against a standalone control plane.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task Given_a_logger_the_runtime_logs_container_starts_retries_with_attempt_numbers_failures_and_slow_calls()
    {
        using var server = Processes.Start(Processes.BuildOutput("src/Server", "Modal.Server.dll"), Processes.ServerArguments, new Dictionary<string, string>());
        try
        {
            var url = await Processes.ReadUrlAsync(server);
            using var caller = Processes.Start(Processes.BuildOutput("tests/Modal.Tracing.App", "Modal.Tracing.App.dll"), [],
                new Dictionary<string, string> { ["MODAL_SERVER_URL"] = url, ["OTEL_RESOURCE_ATTRIBUTES"] = "modal.test=logged" });
            var outputTask = caller.StandardOutput.ReadToEndAsync();
            var errors = caller.StandardError.ReadToEndAsync();
            using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
            {
                await caller.WaitForExitAsync(limit.Token);
            }
            var output = await outputTask + await errors;
            Assert.True(caller.ExitCode == 0, $"The app failed:\n{output}");

            Assert.Contains("caught: Function 'AlwaysFails' threw System.InvalidOperationException: 7 is never accepted. (after 3 attempts)", output);
            Assert.Matches(@"Container ct-\S+ started for traced\.AlwaysFails \(process \d+\)", output);
            Assert.Contains("AlwaysFails: input in-", output);
            Assert.Matches(@"AlwaysFails: input in-\S+, attempt 2 \(a retry\)", output);
            Assert.Matches(@"AlwaysFails: input in-\S+, attempt 3 \(a retry\)", output);
            Assert.Matches(@"AlwaysFails: input in-\S+, attempt 1 failed with System\.InvalidOperationException: 7 is never accepted\.", output);
            Assert.Matches(@"AlwaysFails: input in-\S+, attempt 3 failed with System\.InvalidOperationException", output);
            Assert.Matches(@"Call to AlwaysFails took \d+\.\d s \(slow-call threshold 0 s\)", output);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }
}
