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

    /// <summary>
    /// Ends an input held by <paramref name="holder"/> at <paramref name="attempt"/> in one fenced statement; returns its
    /// call, or null when the holder or attempt do not match or it had already finished (stale or duplicate).
    /// </summary>
    public string? FinishHeld(SqliteTx tx, string inputId, string holder, int attempt, int status, byte[] result)
    {
        var input = tx.Single(
            "UPDATE inputs SET status = $4, holder = NULL, args = x'' WHERE id = $1 AND status = 0 AND holder = $2 AND attempt = $3 " +
            "RETURNING call_id, function_id, idx, args_size",
            r => new { CallId = r.GetString(0), FunctionId = r.GetString(1), Index = r.GetInt32(2), Size = r.GetInt64(3) },
            inputId, holder, attempt, status);
        if (input is null)
        {
            return null;
        }
        var counts = _functions.GetValueOrDefault(input.FunctionId);
        _functions[input.FunctionId] = (counts.Ready, counts.Running + 1, counts.Bytes + input.Size);
        _containers[holder] = _containers.GetValueOrDefault(holder) + 1;
        _outputs.Add((inputId, input.CallId, input.Index, result));
        return input.CallId;
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
            foreach (var output in call)
            {
                tx.Execute("INSERT INTO outputs(call_id, seq, input_id, idx, result) VALUES($1, $2, $3, $4, $5)",
                    output.CallId, ++sequence, output.InputId, output.Index, output.Result);
                rows.Add(new OutputRow(sequence, output.InputId, output.Index, output.Result));
            }
            string callId = call.Key;
            var committed = new StoreSignals.CommittedOutputs(rows, after.Unfinished);
            signals.Add(s => s.CallChanged(callId, committed));
        }
        Discard();
    }
}
