using Modal.Conformance.OtherApp;

namespace Modal.Conformance.Tests;

/// <summary>Two apps' functions in one process: "conformance" runs; "other-app" (same remote name "Square") does not.</summary>
public abstract partial class ConformanceTests<TFixture>
{
    [Fact]
    public async Task A_handle_runs_its_own_function_when_another_app_has_one_of_the_same_name()
    {
        Assert.Equal("Square", OtherAppFunctions.Functions.Cube.Name);
        Assert.Equal(9, await TestFunctions.Functions.Square.RemoteAsync(3));
        Assert.Equal(9, await (await TestFunctions.Functions.Square.SpawnAsync(3)).GetAsync());
        Assert.Equal([0, 1, 4], await CollectAsync(TestFunctions.Functions.Square.Map([0, 1, 2])));
    }

    [Fact]
    public void A_handle_of_another_app_names_that_app()
    {
        Assert.Equal("other-app", OtherAppFunctions.Functions.Cube.AppName);
        Assert.Equal("conformance", TestFunctions.Functions.Square.AppName);
    }

    [Fact]
    public async Task A_function_of_an_app_that_is_not_running_throws_NotFound_naming_the_app()
    {
        var cube = OtherAppFunctions.Functions.Cube;
        var remote = await Assert.ThrowsAsync<NotFoundException>(() => cube.RemoteAsync(3));
        Assert.Contains("other-app", remote.Message);
        var spawned = await Assert.ThrowsAsync<NotFoundException>(() => cube.SpawnAsync(3));
        Assert.Contains("other-app", spawned.Message);
        var mapped = await Assert.ThrowsAsync<NotFoundException>(() => CollectAsync(cube.Map([1, 2])));
        Assert.Contains("other-app", mapped.Message);
        await Assert.ThrowsAsync<NotFoundException>(() => cube.GetCurrentStatsAsync());
    }

    [Fact]
    public async Task WithApp_binds_a_handle_to_the_function_of_that_name_in_the_named_app()
        => Assert.Equal(9, await OtherAppFunctions.Functions.Cube.WithApp("conformance").RemoteAsync(3)); // conformance's Square
}
