namespace Modal.Conformance.Tests;

/// <summary>Every serialization failure is a <see cref="PayloadException"/> naming the function, the argument or result, and the type.</summary>
public abstract partial class ConformanceTests<TFixture>
{
    [Fact]
    public async Task A_result_that_does_not_decode_as_R_throws_PayloadException_naming_function_type_and_value()
    {
        var echo = Function.FromName("conformance", "Echo");
        var exception = await Assert.ThrowsAsync<PayloadException>(() => echo.RemoteAsync<int>("hi"));
        Assert.StartsWith("The result of function 'Echo' does not decode as 'int': it is the string \"hi\".", exception.Message);
        Assert.IsType<MessagePack.MessagePackSerializationException>(exception.InnerException);

        var call = await echo.SpawnAsync<int>("hello");
        var fromCall = await Assert.ThrowsAsync<PayloadException>(() => call.GetAsync(Patience));
        Assert.StartsWith($"The result of function 'Echo' (call '{call.ObjectId}') does not decode as 'int': it is the string \"hello\".", fromCall.Message);

        var byId = await Assert.ThrowsAsync<PayloadException>(() => FunctionCall.FromId<int[]>(call.ObjectId).GetAsync(Patience));
        Assert.StartsWith($"The result of call '{call.ObjectId}' does not decode as 'int[]': it is the string \"hello\".", byId.Message);

        var mapped = await Assert.ThrowsAsync<PayloadException>(async () =>
        {
            await foreach (var _ in echo.Map<DateTime>([["a"]]))
            {
            }
        });
        Assert.StartsWith("The result of function 'Echo' does not decode as 'DateTime': it is the string \"a\".", mapped.Message);
    }

    [Fact]
    public async Task A_result_that_cannot_be_encoded_where_it_runs_throws_PayloadException_naming_function_and_type()
    {
        var exception = await Assert.ThrowsAsync<PayloadException>(() => PayloadFunctions.Functions.Unencodable.RemoteAsync(1));
        Assert.StartsWith("The result of function 'Unencodable' has type 'Fragile', which MessagePack cannot encode: ", exception.Message);
        Assert.Contains("Fragile.Value cannot be read.", exception.Message);

        var results = new List<FunctionResult<Fragile>>();
        await foreach (var result in PayloadFunctions.Functions.Unencodable.MapResults([1, 2]))
        {
            results.Add(result);
        }
        Assert.Equal(2, results.Count);
        Assert.All(results, result => Assert.IsType<PayloadException>(result.Exception));
    }

    [Fact]
    public async Task A_generator_item_that_cannot_be_encoded_throws_PayloadException_after_the_items_before_it()
    {
        var items = new List<Fragile?>();
        var exception = await Assert.ThrowsAsync<PayloadException>(async () =>
        {
            await foreach (var item in PayloadFunctions.Functions.FragileItems.RemoteGen(1))
            {
                items.Add(item);
            }
        });
        Assert.Equal([null], items);
        Assert.StartsWith("The result of function 'FragileItems' has type 'Fragile', which MessagePack cannot encode: ", exception.Message);
    }

    [Fact]
    public async Task An_argument_that_cannot_be_encoded_throws_PayloadException_naming_function_parameter_and_type()
    {
        var typed = await Assert.ThrowsAsync<PayloadException>(() => PayloadFunctions.Functions.TakesFragile.RemoteAsync(new Fragile()));
        Assert.StartsWith("Argument 'fragile' of function 'TakesFragile' has type 'Fragile', which MessagePack cannot encode: ", typed.Message);
        Assert.Contains("Fragile.Value cannot be read.", typed.Message);

        var untyped = await Assert.ThrowsAsync<PayloadException>(() => Function.FromName("conformance", "Square").RemoteAsync<int>(new Fragile()));
        Assert.StartsWith("Argument 0 of function 'Square' has type 'Fragile', which MessagePack cannot encode: ", untyped.Message);
    }

    [Fact]
    public async Task An_untyped_argument_that_does_not_fit_throws_InvalidInput_naming_parameter_type_and_value()
    {
        var exception = await Assert.ThrowsAsync<InvalidInputException>(() => Function.FromName("conformance", "add").RemoteAsync<int>(1, "two"));
        Assert.StartsWith("Argument 'right' sent to function 'add' does not decode as 'int': it is the string \"two\". Expected signature: Add(int left, int right) -> int.", exception.Message);
    }
}
