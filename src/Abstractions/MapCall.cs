namespace Modal;

/// <summary>Reaches a spawned map by id (Modal's <c>FunctionCall.from_id</c> for a <c>spawn_map</c>).</summary>
public static class MapCall
{
    /// <summary>A handle to an existing spawned map whose results decode as <typeparamref name="R"/>.</summary>
    /// <param name="id">The map call's <see cref="MapCall{R}.ObjectId"/>.</param>
    public static MapCall<R> FromId<R>(string id) => new(id, functionName: null);
}
