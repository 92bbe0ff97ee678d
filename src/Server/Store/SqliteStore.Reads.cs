using Microsoft.Data.Sqlite;

namespace Modal.Server.Store;

internal sealed partial class SqliteStore
{
    private List<T> Query<T>(string sql, string[] names, object?[] values, Func<SqliteDataReader, T> map)
    {
        lock (_gate)
        {
            var command = Command(sql, names);
            Bind(command, values);
            var rows = new List<T>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add(map(reader));
            }
            return rows;
        }
    }

    private static string? NullableString(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static byte[] Bytes(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? [] : (byte[])reader.GetValue(ordinal);

    /// <inheritdoc/>
    public IReadOnlyList<AppRecord> LoadApps() => Query(
        "SELECT id, name, kind, state, created_ms, launch FROM apps", [], [],
        r => new AppRecord(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetInt64(4), Bytes(r, 5)));

    /// <inheritdoc/>
    public IReadOnlyList<FunctionRecord> LoadFunctions() => Query(
        "SELECT id, app_id, name, spec, warm_pool FROM functions", [], [],
        r => new FunctionRecord(r.GetString(0), r.GetString(1), r.GetString(2), Bytes(r, 3), r.GetInt32(4)));

    /// <inheritdoc/>
    public IReadOnlyList<InputRecord> LoadPendingInputs() => Query(
        "SELECT id, call_id, function_id, idx, args, status, attempt, retries_used, internal_failures, parent_input_id " +
        "FROM inputs WHERE status = 0 ORDER BY rowid", [], [],
        r => new InputRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), Bytes(r, 4), r.GetInt32(5),
            r.GetInt32(6), r.GetInt32(7), r.GetInt32(8), NullableString(r, 9)));

    /// <inheritdoc/>
    public CallRecord? GetCall(string callId) => Query(
        "SELECT id, function_id, invocation, parent_input_id, is_generator, created_ms, expired FROM calls WHERE id = $id",
        ["$id"], [callId],
        r => new CallRecord(r.GetString(0), r.GetString(1), r.GetInt32(2), NullableString(r, 3), r.GetInt32(4) != 0,
            r.GetInt64(5), r.GetInt32(6) != 0)).FirstOrDefault();

    /// <inheritdoc/>
    public int CountInputs(string callId) => Query(
        "SELECT COUNT(*) FROM inputs WHERE call_id = $id", ["$id"], [callId], r => r.GetInt32(0))[0];

    /// <inheritdoc/>
    public int CountUnfinishedInputs(string callId) => Query(
        "SELECT COUNT(*) FROM inputs WHERE call_id = $id AND status = 0", ["$id"], [callId], r => r.GetInt32(0))[0];

    /// <inheritdoc/>
    public IReadOnlyList<OutputRecord> ReadOutputs(string callId, long afterCursor, int max) => Query(
        "SELECT cursor, call_id, input_id, idx, result FROM outputs WHERE call_id = $id AND cursor > $after ORDER BY cursor LIMIT $max",
        ["$id", "$after", "$max"], [callId, afterCursor, max],
        r => new OutputRecord(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt32(3), Bytes(r, 4)));

    /// <inheritdoc/>
    public IReadOnlyList<ChunkRecord> ReadChunks(string callId, long startIndex, int max) => Query(
        "SELECT idx, data FROM chunks WHERE call_id = $id AND idx >= $start ORDER BY idx LIMIT $max",
        ["$id", "$start", "$max"], [callId, startIndex, max],
        r => new ChunkRecord(r.GetInt64(0), Bytes(r, 1)));

    /// <inheritdoc/>
    public IReadOnlyList<CallGraphRow> ReadCallGraph(string rootCallId) => Query(
        "WITH RECURSIVE tree(id) AS (SELECT id FROM inputs WHERE call_id = $root " +
        "UNION SELECT i.id FROM inputs i JOIN tree t ON i.parent_input_id = t.id) " +
        "SELECT i.id, i.call_id, f.name, i.status, i.parent_input_id FROM inputs i JOIN tree t ON i.id = t.id " +
        "LEFT JOIN functions f ON f.id = i.function_id ORDER BY i.rowid",
        ["$root"], [rootCallId],
        r => new CallGraphRow(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? "" : r.GetString(2), r.GetInt32(3), NullableString(r, 4)));

    /// <inheritdoc/>
    public long? GetBlobSize(string blobId) => Query(
        "SELECT size FROM blobs WHERE id = $id", ["$id"], [blobId], r => r.GetInt64(0)).Cast<long?>().FirstOrDefault();
}
