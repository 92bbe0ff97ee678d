namespace Modal.Server.Store;

internal sealed partial class SqliteStore
{
    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <inheritdoc/>
    public Task UpsertAppAsync(AppRecord app) => EnqueueAsync(store =>
    {
        var command = store.Command(
            "INSERT INTO apps(id, name, kind, state, created_ms, launch) VALUES($id, $name, $kind, $state, $created, $launch) " +
            "ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind, state = excluded.state, launch = excluded.launch",
            "$id", "$name", "$kind", "$state", "$created", "$launch");
        Bind(command, app.Id, app.Name, app.Kind, app.State, app.CreatedUnixMs, app.Launch);
        command.ExecuteNonQuery();
    });

    /// <inheritdoc/>
    public Task SetAppStateAsync(string appId, string state) => EnqueueAsync(store =>
    {
        var command = store.Command("UPDATE apps SET state = $state WHERE id = $id", "$state", "$id");
        Bind(command, state, appId);
        command.ExecuteNonQuery();
    });

    /// <inheritdoc/>
    public Task UpsertFunctionAsync(FunctionRecord function) => EnqueueAsync(store =>
    {
        var command = store.Command(
            "INSERT INTO functions(id, app_id, name, spec, warm_pool) VALUES($id, $app, $name, $spec, $warm) " +
            "ON CONFLICT(id) DO UPDATE SET spec = excluded.spec, warm_pool = excluded.warm_pool",
            "$id", "$app", "$name", "$spec", "$warm");
        Bind(command, function.Id, function.AppId, function.Name, function.Spec, function.WarmPool);
        command.ExecuteNonQuery();
    });

    /// <inheritdoc/>
    public Task SetWarmPoolAsync(string functionId, int warmPool) => EnqueueAsync(store =>
    {
        var command = store.Command("UPDATE functions SET warm_pool = $warm WHERE id = $id", "$warm", "$id");
        Bind(command, warmPool, functionId);
        command.ExecuteNonQuery();
    });

    /// <inheritdoc/>
    public Task InsertCallAsync(CallRecord call) => EnqueueAsync(store =>
    {
        var command = store.Command(
            "INSERT INTO calls(id, function_id, invocation, parent_input_id, is_generator, created_ms, expired) " +
            "VALUES($id, $function, $invocation, $parent, $generator, $created, 0)",
            "$id", "$function", "$invocation", "$parent", "$generator", "$created");
        Bind(command, call.Id, call.FunctionId, call.Invocation, call.ParentInputId, call.IsGenerator ? 1 : 0, call.CreatedUnixMs);
        command.ExecuteNonQuery();
    });

    /// <inheritdoc/>
    public Task InsertInputsAsync(IReadOnlyList<InputRecord> inputs) => EnqueueAsync(store =>
    {
        var command = store.Command(
            "INSERT INTO inputs(id, call_id, function_id, idx, args, status, attempt, retries_used, internal_failures, parent_input_id) " +
            "VALUES($id, $call, $function, $idx, $args, $status, $attempt, $retries, $internal, $parent)",
            "$id", "$call", "$function", "$idx", "$args", "$status", "$attempt", "$retries", "$internal", "$parent");
        foreach (var input in inputs)
        {
            Bind(command, input.Id, input.CallId, input.FunctionId, input.Index, input.Arguments, input.Status, input.Attempt,
                input.RetriesUsed, input.InternalFailures, input.ParentInputId);
            command.ExecuteNonQuery();
        }
    });

    /// <inheritdoc/>
    public Task UpdateAttemptsAsync(IReadOnlyList<(string InputId, int Attempt, int RetriesUsed, int InternalFailures)> updates) =>
        EnqueueAsync(store =>
        {
            var command = store.Command(
                "UPDATE inputs SET attempt = $attempt, retries_used = $retries, internal_failures = $internal WHERE id = $id",
                "$attempt", "$retries", "$internal", "$id");
            foreach (var update in updates)
            {
                Bind(command, update.Attempt, update.RetriesUsed, update.InternalFailures, update.InputId);
                command.ExecuteNonQuery();
            }
        });

    /// <inheritdoc/>
    public Task CompleteInputsAsync(IReadOnlyList<InputCompletion> completions) => EnqueueAsync(store =>
    {
        var status = store.Command("UPDATE inputs SET status = $status WHERE id = $id", "$status", "$id");
        var output = store.Command(
            "INSERT INTO outputs(call_id, input_id, idx, result, created_ms) VALUES($call, $input, $idx, $result, $created)",
            "$call", "$input", "$idx", "$result", "$created");
        long now = NowMs;
        foreach (var completion in completions)
        {
            Bind(status, completion.Status, completion.InputId);
            status.ExecuteNonQuery();
            Bind(output, completion.CallId, completion.InputId, completion.Index, completion.Result, now);
            output.ExecuteNonQuery();
        }
    });

    /// <inheritdoc/>
    public Task InsertChunksAsync(string callId, IReadOnlyList<ChunkRecord> chunks) => EnqueueAsync(store =>
    {
        var command = store.Command(
            "INSERT OR IGNORE INTO chunks(call_id, idx, data) VALUES($call, $idx, $data)", "$call", "$idx", "$data");
        foreach (var chunk in chunks)
        {
            Bind(command, callId, chunk.Index, chunk.Data);
            command.ExecuteNonQuery();
        }
    });

    /// <inheritdoc/>
    public Task InsertBlobAsync(string blobId, long size) => EnqueueAsync(store =>
    {
        var command = store.Command("INSERT OR REPLACE INTO blobs(id, size, created_ms) VALUES($id, $size, $created)",
            "$id", "$size", "$created");
        Bind(command, blobId, size, NowMs);
        command.ExecuteNonQuery();
    });

    /// <inheritdoc/>
    public async Task<IReadOnlyList<string>> ExpireCallsAsync(long cutoffUnixMs)
    {
        var expired = new List<string>();
        await EnqueueAsync(store =>
        {
            var find = store.Command(
                "SELECT c.id FROM calls c WHERE c.expired = 0 " +
                "AND NOT EXISTS (SELECT 1 FROM inputs i WHERE i.call_id = c.id AND i.status = 0) " +
                "AND EXISTS (SELECT 1 FROM outputs o WHERE o.call_id = c.id) " +
                "AND (SELECT MAX(o.created_ms) FROM outputs o WHERE o.call_id = c.id) < $cutoff",
                "$cutoff");
            Bind(find, cutoffUnixMs);
            using (var reader = find.ExecuteReader())
            {
                while (reader.Read())
                {
                    expired.Add(reader.GetString(0));
                }
            }
            var deleteOutputs = store.Command("DELETE FROM outputs WHERE call_id = $id", "$id");
            var deleteChunks = store.Command("DELETE FROM chunks WHERE call_id = $id", "$id");
            var clearArguments = store.Command("UPDATE inputs SET args = x'' WHERE call_id = $id", "$id");
            var markCall = store.Command("UPDATE calls SET expired = 1 WHERE id = $id", "$id");
            foreach (string id in expired)
            {
                foreach (var command in new[] { deleteOutputs, deleteChunks, clearArguments, markCall })
                {
                    Bind(command, id);
                    command.ExecuteNonQuery();
                }
            }
        }).ConfigureAwait(false);
        return expired;
    }
}
