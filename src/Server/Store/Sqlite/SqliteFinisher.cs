namespace Modal.Server.Store;

/// <summary>
/// The outputs one operation writes, gathered and written together before its savepoint is released: each input's
/// row is ended at once (so that it cannot end twice), while counters, call sequences and outputs are applied with one
/// statement per function, container and call rather than several per input.
/// </summary>
internal sealed class SqliteFinisher
{
    private readonly List<(string InputId, string CallId, int Index, byte[] Result)> _outputs = [];
    private readonly Dictionary<string, (long Ready, long Running, long Bytes)> _functions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _containers = new(StringComparer.Ordinal);

    public bool IsEmpty => _outputs.Count == 0;

    /// <summary>Ends an unfinished input with its one output. False when it had already finished.</summary>
    public bool Finish(SqliteTx tx, string inputId, int status, byte[] result)
    {
        var input = tx.Single("SELECT call_id, function_id, idx, holder, args_size FROM inputs WHERE id = $1 AND status = 0",
            r => new { CallId = r.GetString(0), FunctionId = r.GetString(1), Index = r.GetInt32(2), Holder = SqliteTx.NullableString(r, 3), Size = r.GetInt64(4) },
            inputId);
        if (input is null)
        {
            return false;
        }
        tx.Execute("UPDATE inputs SET status = $2, holder = NULL, args = x'' WHERE id = $1", inputId, status);
        var counts = _functions.GetValueOrDefault(input.FunctionId);
        _functions[input.FunctionId] = input.Holder is null
            ? (counts.Ready + 1, counts.Running, counts.Bytes + input.Size)
            : (counts.Ready, counts.Running + 1, counts.Bytes + input.Size);
        if (input.Holder is not null)
        {
            _containers[input.Holder] = _containers.GetValueOrDefault(input.Holder) + 1;
        }
        _outputs.Add((inputId, input.CallId, input.Index, result));
        return true;
    }

    private readonly Dictionary<int, string> _finishManySql = [];

    /// <summary>
    /// Ends inputs held by <paramref name="holder"/> that end with the same status, with one fenced statement per
    /// <see cref="SqliteTx.MaxRowsPerInsert"/> inputs: each ends only if it is unfinished, held by <paramref name="holder"/>
    /// and at the attempt given. Returns, in the order given, each one's call, or null for a stale or duplicate one.
    /// </summary>
    public List<string?> FinishHeldMany(SqliteTx tx, string holder, int status, IReadOnlyList<(string InputId, int Attempt, byte[] Result)> inputs)
    {
        var ended = new Dictionary<string, (string CallId, string FunctionId, int Index, long Size)>(StringComparer.Ordinal);
        for (int start = 0; start < inputs.Count; start += SqliteTx.MaxRowsPerInsert)
        {
            int count = Math.Min(SqliteTx.MaxRowsPerInsert, inputs.Count - start);
            if (!_finishManySql.TryGetValue(count, out string? sql))
            {
                // $1 status, $2 holder, then (id, attempt) pairs: the id list finds the rows by key, the pairs fence each one.
                var ids = string.Join(", ", Enumerable.Range(0, count).Select(i => $"${3 + 2 * i}"));
                var pairs = string.Join(", ", Enumerable.Range(0, count).Select(i => $"(${3 + 2 * i}, ${4 + 2 * i})"));
                sql = $"UPDATE inputs SET status = $1, holder = NULL, args = x'' WHERE status = 0 AND holder = $2 AND id IN ({ids}) " +
                    $"AND (id, attempt) IN (VALUES {pairs}) RETURNING id, call_id, function_id, idx, args_size";
                _finishManySql[count] = sql;
            }
            var values = new object?[2 + 2 * count];
            values[0] = status;
            values[1] = holder;
            for (int i = 0; i < count; i++)
            {
                values[2 + 2 * i] = inputs[start + i].InputId;
                values[3 + 2 * i] = inputs[start + i].Attempt;
            }
            foreach (var row in tx.Query(sql, r => (Id: r.GetString(0), CallId: r.GetString(1), FunctionId: r.GetString(2), Index: r.GetInt32(3),
                Size: r.GetInt64(4)), values))
            {
                ended[row.Id] = (row.CallId, row.FunctionId, row.Index, row.Size);
            }
        }
        var calls = new List<string?>(inputs.Count);
        foreach (var (inputId, _, result) in inputs)
        {
            // Remove: a second report of the same input in one request is a duplicate.
            if (!ended.Remove(inputId, out var input))
            {
                calls.Add(null);
                continue;
            }
            var counts = _functions.GetValueOrDefault(input.FunctionId);
            _functions[input.FunctionId] = (counts.Ready, counts.Running + 1, counts.Bytes + input.Size);
            _containers[holder] = _containers.GetValueOrDefault(holder) + 1;
            _outputs.Add((inputId, input.CallId, input.Index, result));
            calls.Add(input.CallId);
        }
        return calls;
    }

    /// <summary>Forgets what was gathered (the operation is rolled back).</summary>
    public void Discard()
    {
        _outputs.Clear();
        _functions.Clear();
        _containers.Clear();
    }

    /// <summary>Writes what was gathered: counters, then each call's next sequence numbers and its outputs.</summary>
    public void Flush(SqliteTx tx, long now, List<Action<StoreSignals>> signals)
    {
        if (IsEmpty)
        {
            return;
        }
        foreach (var (functionId, (ready, running, bytes)) in _functions)
        {
            tx.Execute("UPDATE functions SET ready = ready - $2, running = running - $3, backlog_bytes = backlog_bytes - $4 WHERE id = $1",
                functionId, ready, running, bytes);
        }
        foreach (var (containerId, count) in _containers)
        {
            SqliteControlStore.ReleaseSlots(tx, containerId, count, now);
        }
        foreach (var call in _outputs.GroupBy(o => o.CallId, StringComparer.Ordinal))
        {
            int count = call.Count();
            var after = tx.Single(
                "UPDATE calls SET output_seq = output_seq + $2, unfinished = unfinished - $2, " +
                "finished_ms = CASE WHEN unfinished = $2 THEN $3 ELSE NULL END WHERE id = $1 RETURNING output_seq, unfinished",
                r => new { Last = r.GetInt64(0), Unfinished = r.GetInt32(1) }, call.Key, count, now)!;
            long sequence = after.Last - count;
            var rows = new List<OutputRow>(count);
            var values = new List<object?[]>(count);
            foreach (var output in call)
            {
                ++sequence;
                values.Add([output.CallId, sequence, output.InputId, output.Index, output.Result]);
                rows.Add(new OutputRow(sequence, output.InputId, output.Index, output.Result));
            }
            tx.InsertRows("outputs", "call_id, seq, input_id, idx, result", 5, values);
            string callId = call.Key;
            var committed = new StoreSignals.CommittedOutputs(rows, after.Unfinished);
            signals.Add(s => s.CallChanged(callId, committed));
        }
        Discard();
    }
}
