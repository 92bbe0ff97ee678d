using System.Runtime.CompilerServices;
using Modal.Conformance;

namespace Modal.Runtime.Tests;

/// <summary>Which app a handle reaches (the shared seam every mode uses), and the entrypoint registry.</summary>
public sealed class AppResolutionTests
{
    [Fact]
    public void A_reference_resolves_to_the_running_app_only_for_functions_that_app_runs()
    {
        var own = TestFunctions.Functions.SquareFunction.Definition;
        var foreign = new FunctionDefinition("other-app", "Square", FunctionKind.Unary, new FunctionOptions(), "Cube(int x) -> int", hasResult: true, parameterCount: 1);
        var renamed = new RenamedBackend("renamed", own);

        Assert.Equal("renamed", new FunctionReference(null, "Square", own).ResolveAppName(renamed));
        Assert.Equal("other-app", new FunctionReference(null, "Square", foreign).ResolveAppName(renamed));
        Assert.Equal("elsewhere", new FunctionReference("elsewhere", "Square", own).ResolveAppName(renamed));
        Assert.Equal("renamed", new FunctionReference(null, "Square", null).ResolveAppName(renamed));
        Assert.Equal("conformance", new FunctionReference(null, "Square", own).ResolveAppName(null));
        Assert.Throws<InvalidOperationException>(() => new FunctionReference(null, "Square", null).ResolveAppName(null));
    }

    [Fact]
    public void By_default_a_backend_runs_the_functions_compiled_for_its_app_name()
    {
        IModalBackend conformance = new FakeBackend("conformance");
        Assert.True(conformance.Runs(TestFunctions.Functions.SquareFunction.Definition));
        IModalBackend other = new FakeBackend("other-app");
        Assert.False(other.Runs(TestFunctions.Functions.SquareFunction.Definition));
    }

    [Fact]
    public void Registering_a_second_function_of_the_same_name_in_the_same_app_is_refused()
    {
        RuntimeHelpers.RunModuleConstructor(typeof(TestFunctions).Module.ModuleHandle); // the conformance app is registered
        var before = FunctionEntrypoints.All.Count;
        var exception = Assert.Throws<InvalidOperationException>(() => FunctionEntrypoints.Register(new FakeEntrypoint("conformance", "Square")));
        Assert.Contains("conformance", exception.Message);
        Assert.Contains("'Square'", exception.Message);
        Assert.Equal(before, FunctionEntrypoints.All.Count);
        Assert.Same(TestFunctions.Functions.SquareFunction.Definition,
            FunctionEntrypoints.All.Where(entrypoint => entrypoint.DefaultAppName == "conformance")
                .SelectMany(entrypoint => entrypoint.Functions).Single(function => function.Name == "Square"));
    }

    private sealed class FakeEntrypoint(string appName, string functionName) : IFunctionEntrypoint
    {
        public string DefaultAppName => appName;

        public IReadOnlyList<FunctionDefinition> Functions { get; } =
            [new FunctionDefinition(appName, functionName, FunctionKind.Unary, new FunctionOptions(), functionName + "() -> int", hasResult: true, parameterCount: 0)];

        public ValueTask<ReadOnlyMemory<byte>> InvokeAsync(string name, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
            => throw new NotSupportedException();

        public IAsyncEnumerable<ReadOnlyMemory<byte>> InvokeGeneratorAsync(string name, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
            => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<ReadOnlyMemory<byte>>> InvokeBatchAsync(string name, IReadOnlyList<ReadOnlyMemory<byte>> arguments, CancellationToken cancellationToken)
            => throw new NotSupportedException();
    }

    /// <summary>An app renamed to <paramref name="name"/> that runs only <paramref name="runs"/>.</summary>
    private sealed class RenamedBackend(string name, FunctionDefinition runs) : FakeBackend(name), IModalBackend
    {
        bool IModalBackend.Runs(FunctionDefinition definition) => ReferenceEquals(definition, runs);
    }

    /// <summary>A backend named <paramref name="name"/> with the interface's default <c>Runs</c>.</summary>
    private class FakeBackend(string name) : IModalBackend
    {
        public string? RunningAppName => name;

        public Task<string> HydrateAsync(FunctionReference function, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<ReadOnlyMemory<byte>> CallAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<string> SpawnAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken) => throw new NotSupportedException();
        public IAsyncEnumerable<MapOutput> MapAsync(FunctionReference function, IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, bool orderOutputs, CancellationToken cancellationToken) => throw new NotSupportedException();
        public IAsyncEnumerable<ReadOnlyMemory<byte>> CallGeneratorAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<ReadOnlyMemory<byte>> GetCallOutputAsync(string functionCallId, TimeSpan? timeout, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task CancelCallAsync(string functionCallId, bool terminateContainers, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<IReadOnlyList<InputInfo>> GetCallGraphAsync(string functionCallId, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<FunctionStats> GetCurrentStatsAsync(FunctionReference function, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task KeepWarmAsync(FunctionReference function, int warmPoolSize, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task UpdateAutoscalerAsync(FunctionReference function, int? minContainers, int? maxContainers, int? bufferContainers,
            int? scaledownWindowSeconds, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<string> SpawnMapAsync(FunctionReference function, IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<int> GetCallInputCountAsync(string functionCallId, CancellationToken cancellationToken) => throw new NotSupportedException();
        public IAsyncEnumerable<MapOutput> GetCallOutputsAsync(string functionCallId, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
