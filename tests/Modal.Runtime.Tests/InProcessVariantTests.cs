using System.Diagnostics;
using System.Runtime.CompilerServices;
using Modal.Conformance;
using Modal.InProcess;

namespace Modal.Runtime.Tests;

/// <summary>
/// Variants (<c>WithOptions</c>, <c>WithConcurrency</c>, <c>WithBatching</c>) in InProcess mode: a variant's options take
/// effect, and the function itself keeps its declared ones.
/// </summary>
[Collection(AppLifetimeCollection.Name)]
public sealed class InProcessVariantTests : IAsyncLifetime
{
    private InProcessBackend? _backend;
    private IDisposable? _installation;

    public Task InitializeAsync()
    {
        RuntimeHelpers.RunModuleConstructor(typeof(TestFunctions).Module.ModuleHandle);
        _backend = new InProcessBackend("conformance");
        _installation = ModalBackend.Install(_backend);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _installation?.Dispose();
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task WithOptions_timeout_takes_effect_and_leaves_the_function_alone()
    {
        var sleep = TestFunctions.Functions.Sleep;
        var brief = sleep.WithOptions(timeoutSeconds: 1);
        Assert.IsType<TestFunctions.Functions.SleepFunction>(brief);
        await Assert.ThrowsAsync<FunctionTimeoutException>(() => brief.RemoteAsync(10_000));
        Assert.Equal(1_500, await sleep.RemoteAsync(1_500)); // declared: 300 s
    }

    [Fact]
    public async Task WithOptions_retries_None_clears_the_declared_retries()
    {
        var directory = Directory.CreateTempSubdirectory("modal-variant-").FullName;
        try
        {
            var probe = TestFunctions.Functions.BackoffProbe; // MaxRetries = 2
            var declared = Directory.CreateDirectory(Path.Combine(directory, "declared")).FullName;
            var variant = Directory.CreateDirectory(Path.Combine(directory, "variant")).FullName;
            Assert.Equal(2, (await probe.RemoteAsync(declared, 1)).Length);
            await Assert.ThrowsAsync<RemoteFunctionException>(() => probe.WithOptions(retries: RetryPolicy.None).RemoteAsync(variant, 1));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task WithConcurrency_runs_more_inputs_at_once_than_the_function_itself()
    {
        var hold = TestFunctions.Functions.Hold; // MaxContainers = 1, one input at a time
        var declared = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => hold.RemoteAsync(1_000)));
        declared.Stop();
        Assert.True(declared.Elapsed >= TimeSpan.FromMilliseconds(3_900), $"one at a time takes 4 x 1 s, took {declared.Elapsed}");

        // Four at once take about 1 s, one at a time 4 s: under 3 s means more than one at a time, with 2 s to spare for load.
        var wide = hold.WithConcurrency(maxInputs: 4);
        var variant = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => wide.RemoteAsync(1_000)));
        variant.Stop();
        Assert.True(variant.Elapsed < TimeSpan.FromMilliseconds(3_000), $"four at once take about 1 s, took {variant.Elapsed}");
    }

    [Fact]
    public async Task WithBatching_groups_inputs_in_smaller_batches_than_declared()
    {
        var sizes = StreamingFunctions.Functions.BatchSizes; // MaxBatchSize = 10, WaitMs = 200
        var declared = await Task.WhenAll(Enumerable.Range(0, 6).Select(x => sizes.RemoteAsync(x)));
        Assert.True(declared.Max() > 3, $"declared batches: {string.Join(", ", declared)}");

        var small = sizes.WithBatching(maxBatchSize: 3, waitMs: 200);
        var variant = await Task.WhenAll(Enumerable.Range(0, 6).Select(x => small.RemoteAsync(x)));
        Assert.Equal(3, variant.Max());
    }

    [Fact]
    public void Variant_arguments_out_of_range_throw_naming_the_argument()
    {
        var square = TestFunctions.Functions.Square;
        Assert.Equal("timeoutSeconds", Assert.Throws<ArgumentOutOfRangeException>(() => square.WithOptions(timeoutSeconds: 0)).ParamName);
        Assert.Equal("minContainers", Assert.Throws<ArgumentOutOfRangeException>(() => TestFunctions.Functions.Hold.WithOptions(minContainers: 2)).ParamName);
        Assert.Equal("gpu", Assert.Throws<ArgumentException>(() => square.WithOptions(gpu: "A100:0")).ParamName);
        Assert.Contains("DOTNET_*", Assert.Throws<ArgumentException>(() => square.WithOptions(environment: new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" })).Message);
        Assert.Equal("targetInputs", Assert.Throws<ArgumentOutOfRangeException>(() => square.WithConcurrency(2, targetInputs: 3)).ParamName);
        Assert.Equal("maxBatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => StreamingFunctions.Functions.Double.WithBatching(0, 10)).ParamName);
    }

    [Fact]
    public void A_variant_keeps_its_overrides_through_WithApp_and_further_variants()
    {
        var variant = TestFunctions.Functions.Square.WithOptions(timeoutSeconds: 5).WithConcurrency(3).WithApp("other");
        Assert.Equal("other", variant.AppName);
        Assert.Equal("timeoutSeconds: 5, maxInputs: 3", variant.Reference.Variant!.ToString());
        Assert.Null(TestFunctions.Functions.Square.Reference.Variant);
    }
}
