using System.Runtime.CompilerServices;

namespace Modal.Runtime.Tests;

/// <summary>Map results and retry backoff, as every execution mode sees them.</summary>
public sealed class ResultAndRetryPolicyTests
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Exception ThrownByAHelper()
    {
        try
        {
            throw new InvalidOperationException("failed where it was thrown");
        }
        catch (InvalidOperationException exception)
        {
            return exception;
        }
    }

    [Fact]
    public void FunctionResult_Value_rethrows_the_failure_with_its_original_stack_trace_on_every_read()
    {
        var result = FunctionResult<int>.Failure(3, ThrownByAHelper());
        for (int read = 0; read < 2; read++)
        {
            var thrown = Assert.Throws<InvalidOperationException>(() => result.Value);
            Assert.Same(result.Exception, thrown);
            Assert.Contains(nameof(ThrownByAHelper), thrown.StackTrace);
        }
    }

    [Theory]
    [InlineData(1, 200)]
    [InlineData(2, 400)]
    [InlineData(3, 800)]
    [InlineData(4, 1000)] // 1600 capped at MaxDelayMs
    [InlineData(10, 1000)]
    public void RetryPolicy_delay_grows_by_the_coefficient_up_to_the_cap(int retryNumber, int expectedMs)
        => Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), new RetryPolicy(10, 2.0, 200, 1000).DelayBeforeRetry(retryNumber));

    [Fact]
    public void RetryPolicy_with_coefficient_one_keeps_the_initial_delay_and_rejects_retry_zero()
    {
        var policy = new RetryPolicy(3, 1.0, 1500, 60000);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), policy.DelayBeforeRetry(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => policy.DelayBeforeRetry(0));
    }
}
