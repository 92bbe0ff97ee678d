using Modal.Server.Store;

namespace Modal.Server.Tests.StoreContract;

/// <summary>A [Cls] worker says hello before its [Enter] runs: that hello does not reset the failed starts, its second one does.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task A_hello_while_initializing_keeps_the_failed_starts_and_a_started_hello_resets_them()
    {
        var store = await OpenAsync();
        string functionId = await FunctionAsync(store);
        Assert.Equal(1, await store.RecordStartupFailureAsync(functionId, "[Enter] threw"));

        await store.RegisterContainerAsync(new NewContainer("ct-entering", functionId, "ap-1", [1, 2], "rp-test", 60_000));
        Assert.True(await store.ContainerHelloAsync("ct-entering", null, 60_000, started: false));
        Assert.Equal(2, await store.RecordStartupFailureAsync(functionId, "[Enter] threw"));
        Assert.Equal(2, (await store.ReadLoadAsync()).Single().StartupFailures);

        Assert.True(await store.ContainerHelloAsync("ct-entering", null, 60_000, started: true));
        Assert.Equal(0, (await store.ReadLoadAsync()).Single().StartupFailures);
    }
}
