using Modal.Api;

namespace Modal.Server.Store;

internal sealed partial class PostgresControlStore
{
    /// <summary>An unfinished input to end with its one output.</summary>
    private sealed record Finish(string InputId, int Status, byte[] Result);

    /// <summary>A held input going back to the queue, ready after <paramref name="DelayMs"/>.</summary>
    private sealed record Requeue(string InputId, string Holder, string FunctionId, long DelayMs, bool InternalFailure);

    /// <summary>A held input a container failed to finish, locked for <see cref="RequeueOrFailAsync"/>.</summary>
    private sealed record HeldInput(string InputId, string CallId, string FunctionId, int InternalFailures, bool Cancelled);

    private const string HeldInputQuery =
        "SELECT i.id, i.call_id, i.function_id, i.internal_failures, c.cancelled FROM inputs i JOIN calls c ON c.id = i.call_id ";

    private static HeldInput ReadHeldInput(Npgsql.NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetBoolean(4));

    public async Task<IReadOnlyList<ClaimedAssignment>> ClaimAsync(string functionId, IReadOnlyList<ContainerCredit> credits)
    {
        // Idle workers ask many times a second: look first, so that nothing is committed when nothing is ready. An
        // enqueue that commits after this look signals the dispatchers (NOTIFY), which claim again.
        if (await ReadAsync(tx => tx.ScalarAsync<int?>(
                "SELECT 1 FROM inputs WHERE function_id = $1 AND status = 0 AND holder IS NULL AND ready_at_ms <= modal_now_ms() LIMIT 1", functionId))
            .ConfigureAwait(false) is null)
        {
            return [];
        }
        return await ClaimNowAsync(functionId, credits).ConfigureAwait(false);
    }

    private Task<IReadOnlyList<ClaimedAssignment>> ClaimNowAsync(string functionId, IReadOnlyList<ContainerCredit> credits) =>
        WriteAsync<IReadOnlyList<ClaimedAssignment>>(async tx =>
            await ClaimInAsync(tx, functionId, await LockClaimantsAsync(tx, functionId, credits).ConfigureAwait(false)).ConfigureAwait(false));

    /// <summary>The live containers a claim may assign to, locked, with the function's batching and timeout.</summary>
    private sealed record Claimants(List<ContainerCredit> Eligible, int BatchSize, int BatchWaitMs, int TimeoutSeconds)
    {
        public static readonly Claimants None = new([], 1, 0, 0);
    }

    /// <summary>
    /// Locks the containers a claim is for, first of the rows the claim will update. A claim locks containers before
    /// the function's counters, like every transaction (see <see cref="PostgresTx.FlushAsync"/>), and locks them for
    /// update from the start: two claims for one container queue here rather than each holding a shared lock and then
    /// both waiting to upgrade it (a deadlock). EndContainer's delete waits for the claim, then ends what it claimed.
    /// </summary>
    private static async Task<Claimants> LockClaimantsAsync(PostgresTx tx, string functionId, IReadOnlyList<ContainerCredit> credits)
    {
        var live = await tx.QueryAsync(
            "SELECT c.id, f.batch_size, f.batch_wait_ms, f.timeout_s FROM containers c JOIN functions f ON f.id = c.function_id " +
            "JOIN apps a ON a.id = f.app_id WHERE c.id = ANY($1) AND c.function_id = $2 AND NOT c.stop_requested AND NOT a.stopped " +
            "ORDER BY c.id FOR NO KEY UPDATE OF c",
            r => (Id: r.GetString(0), BatchSize: r.GetInt32(1), WaitMs: r.GetInt32(2), TimeoutSeconds: r.GetInt32(3)),
            credits.Select(c => c.ContainerId).Distinct(StringComparer.Ordinal).ToArray(), functionId).ConfigureAwait(false);
        if (live.Count == 0)
        {
            return Claimants.None;
        }
        var liveIds = live.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        return new Claimants(credits.Where(c => liveIds.Contains(c.ContainerId) && c.Assignments > 0).ToList(),
            live[0].BatchSize, live[0].WaitMs, live[0].TimeoutSeconds);
    }

    /// <summary>
    /// Claims ready inputs for the locked <paramref name="claimants"/> within a transaction (a claim, or an enqueue's own).
    /// </summary>
    private static async Task<IReadOnlyList<ClaimedAssignment>> ClaimInAsync(PostgresTx tx, string functionId, Claimants claimants)
    {
        var assignments = new List<ClaimedAssignment>();
        var (eligible, batchSize, waitMs, timeoutSeconds) = claimants;
        long wanted = eligible.Sum(c => (long)c.Assignments) * batchSize;
        if (wanted == 0)
        {
            return assignments;
        }
        // Other replicas claiming from this function skip the rows locked here, and this claim skips theirs.
        var ready = await tx.QueryAsync(
            "SELECT i.id, i.call_id, i.idx, i.attempt, i.args, c.is_generator, i.ready_at_ms, modal_now_ms() FROM inputs i " +
            "JOIN calls c ON c.id = i.call_id WHERE i.function_id = $1 AND i.status = 0 AND i.holder IS NULL AND i.ready_at_ms <= modal_now_ms() " +
            "ORDER BY i.ready_at_ms, i.call_id, i.idx LIMIT $2 FOR UPDATE OF i SKIP LOCKED",
            r => (Id: r.GetString(0), CallId: r.GetString(1), Index: r.GetInt32(2), Attempt: r.GetInt32(3), Args: PostgresTx.Bytes(r, 4),
                IsGenerator: r.GetBoolean(5), ReadyAt: r.GetInt64(6), Now: r.GetInt64(7)),
            functionId, wanted).ConfigureAwait(false);
        if (ready.Count == 0)
        {
            return assignments;
        }
        long now = ready[0].Now;
        long deadline = now + timeoutSeconds * 1000L;
        bool batched = batchSize > 1 || waitMs > 0;
        int next = 0;
        var claimedIds = new List<string>();
        var holders = new List<string>();
        foreach (var credit in eligible)
        {
            for (int n = 0; n < credit.Assignments && next < ready.Count; n++)
            {
                int count = Math.Min(batchSize, ready.Count - next);
                if (batched && count < batchSize && now - ready[next].ReadyAt < waitMs)
                {
                    break; // A partial batch waits for more inputs until the oldest has waited WaitMs.
                }
                var claimed = new List<ClaimedInput>(count);
                foreach (var input in ready.GetRange(next, count))
                {
                    claimed.Add(new ClaimedInput(input.Id, input.CallId, input.Index, input.Attempt + 1, input.Args, deadline, input.IsGenerator));
                    claimedIds.Add(input.Id);
                    holders.Add(credit.ContainerId);
                }
                next += count;
                tx.CountSlots(credit.ContainerId, count);
                assignments.Add(new ClaimedAssignment(credit.ContainerId, claimed));
            }
        }
        if (claimedIds.Count == 0)
        {
            return assignments;
        }
        tx.CountFunction(functionId, -claimedIds.Count, claimedIds.Count, 0);
        // The rows are locked: the updates go with the commit's round trip.
        tx.Defer("UPDATE inputs i SET holder = t.holder, attempt = i.attempt + 1, claimed_ms = modal_now_ms(), deadline_ms = $3 " +
            "FROM unnest($1::text[], $2::text[]) AS t(id, holder) WHERE i.id = t.id", claimedIds.ToArray(), holders.ToArray(), deadline);
        var generators = assignments.SelectMany(a => a.Inputs).Where(i => i.IsGenerator).ToList();
        if (generators.Count > 0)
        {
            // A re-run generator starts over: only the new attempt's items are visible.
            tx.Defer("DELETE FROM chunks k USING unnest($1::text[], $2::int[]) AS t(call_id, attempt) WHERE k.call_id = t.call_id AND k.attempt < t.attempt",
                generators.Select(g => g.CallId).ToArray(), generators.Select(g => g.Attempt).ToArray());
        }
        return assignments;
    }

    public Task<Completed> CompleteAsync(string containerId, IReadOnlyList<AttemptResult> results) => WriteAsync(async tx =>
    {
        // Fencing: only rows this container holds, unfinished, are locked and considered; the attempt must match too.
        var held = (await tx.QueryAsync(
            "SELECT i.id, i.attempt, i.call_id, i.function_id, i.retries_used, c.cancelled, c.is_generator, f.max_retries, f.backoff, " +
            "f.initial_delay_ms, f.max_delay_ms FROM inputs i JOIN calls c ON c.id = i.call_id JOIN functions f ON f.id = i.function_id " +
            "WHERE i.id = ANY($1) AND i.status = 0 AND i.holder = $2 ORDER BY i.id FOR UPDATE OF i",
            r => new
            {
                Id = r.GetString(0), Attempt = r.GetInt32(1), CallId = r.GetString(2), FunctionId = r.GetString(3), RetriesUsed = r.GetInt32(4),
                Cancelled = r.GetBoolean(5), IsGenerator = r.GetBoolean(6),
                Retries = new RetryParameters(r.GetInt32(7), r.GetDouble(8), r.GetInt32(9), r.GetInt32(10)),
            },
            results.Select(r => r.InputId).Distinct(StringComparer.Ordinal).ToArray(), containerId).ConfigureAwait(false))
            .ToDictionary(i => i.Id, StringComparer.Ordinal);
        var finishes = new List<Finish>();
        var requeues = new List<Requeue>();
        var calls = new HashSet<string>(StringComparer.Ordinal);
        int ignored = 0;
        foreach (var result in results)
        {
            // Stale (an older attempt or another holder), duplicate, or already finished.
            if (!held.TryGetValue(result.InputId, out var input) || input.Attempt != result.Attempt)
            {
                ignored++;
                continue;
            }
            held.Remove(result.InputId);
            var status = AttemptPolicy.StatusOf(result.Result);
            if (AttemptPolicy.RetryDelayMs(input.Retries, status, input.RetriesUsed, input.Cancelled, input.IsGenerator) is { } delay)
            {
                requeues.Add(new Requeue(input.Id, containerId, input.FunctionId, delay, InternalFailure: false));
                tx.WorkReadyAfter.Add(delay);
            }
            else
            {
                finishes.Add(new Finish(input.Id, (int)status, result.Result));
                calls.Add(input.CallId);
            }
        }
        await FinishAsync(tx, finishes).ConfigureAwait(false);
        await RequeueAsync(tx, requeues).ConfigureAwait(false);
        return new Completed([.. calls], finishes.Count, requeues.Count, ignored);
    });

    public Task<Completed> TimeOutAsync(OverrunInput input) =>
        CompleteAsync(input.ContainerId, [new AttemptResult(input.InputId, input.Attempt, Outcomes.Timeout(input.FunctionName, input.InputId, input.TimeoutSeconds))]);

    /// <summary>
    /// Ends unfinished inputs with their outputs: each takes the next sequence number of its call under the call row's
    /// lock, so the transaction holding sequence n commits before any transaction can take n + 1 and a reader that sees
    /// n + 1 sees n. Counters are adjusted and the calls' watchers signalled. Returns the calls of the inputs it ended
    /// (inputs already finished are skipped).
    /// </summary>
    private static async Task<HashSet<string>> FinishAsync(PostgresTx tx, IReadOnlyList<Finish> finishes)
    {
        var touched = new HashSet<string>(StringComparer.Ordinal);
        var unique = finishes.DistinctBy(f => f.InputId, StringComparer.Ordinal).ToList();
        if (unique.Count == 0)
        {
            return touched;
        }
        var ended = (await tx.QueryAsync(
            "WITH target AS (SELECT id, call_id, function_id, idx, holder, args_size FROM inputs WHERE id = ANY($1) AND status = 0 ORDER BY id FOR UPDATE) " +
            "UPDATE inputs i SET status = t.status, holder = NULL, args = ''::bytea " +
            "FROM target JOIN unnest($1::text[], $2::int[]) AS t(id, status) ON t.id = target.id WHERE i.id = target.id " +
            "RETURNING target.id, target.call_id, target.function_id, target.idx, target.holder, target.args_size",
            r => (Id: r.GetString(0), CallId: r.GetString(1), FunctionId: r.GetString(2), Index: r.GetInt32(3), Holder: PostgresTx.NullableString(r, 4),
                Size: r.GetInt64(5)),
            unique.Select(f => f.InputId).ToArray(), unique.Select(f => f.Status).ToArray()).ConfigureAwait(false))
            .ToDictionary(e => e.Id, StringComparer.Ordinal);
        // In the order given, so that a batch's outputs are numbered as they were reported.
        var rows = unique.Where(f => ended.ContainsKey(f.InputId)).Select(f => (Finish: f, Input: ended[f.InputId])).ToList();
        if (rows.Count == 0)
        {
            return touched;
        }
        var perCall = rows.GroupBy(r => r.Input.CallId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var lastSequence = (await tx.QueryAsync(
            "WITH locked AS (SELECT id FROM calls WHERE id = ANY($1) ORDER BY id FOR UPDATE) " +
            "UPDATE calls c SET output_seq = c.output_seq + t.n, unfinished = c.unfinished - t.n, " +
            "finished_ms = CASE WHEN c.unfinished = t.n THEN modal_now_ms() ELSE NULL END " +
            "FROM locked JOIN unnest($1::text[], $2::int[]) AS t(id, n) ON t.id = locked.id WHERE c.id = locked.id RETURNING c.id, c.output_seq",
            r => (Id: r.GetString(0), Sequence: r.GetInt64(1)), perCall.Keys.ToArray(), perCall.Values.ToArray()).ConfigureAwait(false))
            .ToDictionary(c => c.Id, c => c.Sequence, StringComparer.Ordinal);
        var nextSequence = perCall.ToDictionary(c => c.Key, c => lastSequence[c.Key] - c.Value + 1, StringComparer.Ordinal);
        var sequences = new long[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            var (finish, input) = rows[i];
            sequences[i] = nextSequence[input.CallId]++;
            touched.Add(input.CallId);
            tx.ChangedCalls.Add(input.CallId);
            if (input.Holder is null)
            {
                tx.CountFunction(input.FunctionId, -1, 0, -input.Size);
            }
            else
            {
                tx.CountFunction(input.FunctionId, 0, -1, -input.Size);
                tx.CountSlots(input.Holder, -1);
            }
        }
        tx.Defer(
            "INSERT INTO outputs(call_id, seq, input_id, idx, result) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::bytea[])",
            rows.Select(r => r.Input.CallId).ToArray(), sequences, rows.Select(r => r.Finish.InputId).ToArray(), rows.Select(r => r.Input.Index).ToArray(),
            rows.Select(r => r.Finish.Result).ToArray());
        return touched;
    }

    /// <summary>Puts held (and locked) inputs back in the queue for another attempt.</summary>
    private static async Task RequeueAsync(PostgresTx tx, IReadOnlyList<Requeue> requeues)
    {
        if (requeues.Count == 0)
        {
            return;
        }
        await tx.ExecuteAsync(
            "UPDATE inputs i SET holder = NULL, ready_at_ms = modal_now_ms() + t.delay, " +
            "retries_used = i.retries_used + CASE WHEN t.internal THEN 0 ELSE 1 END, " +
            "internal_failures = i.internal_failures + CASE WHEN t.internal THEN 1 ELSE 0 END " +
            "FROM unnest($1::text[], $2::bigint[], $3::boolean[]) AS t(id, delay, internal) WHERE i.id = t.id",
            requeues.Select(r => r.InputId).ToArray(), requeues.Select(r => r.DelayMs).ToArray(), requeues.Select(r => r.InternalFailure).ToArray())
            .ConfigureAwait(false);
        foreach (var requeue in requeues)
        {
            tx.CountFunction(requeue.FunctionId, 1, -1, 0);
            tx.CountSlots(requeue.Holder, -1);
        }
    }

    /// <summary>
    /// Held inputs whose container failed (locked by the caller): re-queued at once, or failed after too many such
    /// failures; inputs of cancelled calls end as Terminated. Returns the calls whose inputs finished.
    /// </summary>
    private static async Task<HashSet<string>> RequeueOrFailAsync(PostgresTx tx, IReadOnlyList<HeldInput> inputs, string holder, string reason, int limit)
    {
        var finishes = new List<Finish>();
        var requeues = new List<Requeue>();
        foreach (var input in inputs)
        {
            if (input.Cancelled)
            {
                finishes.Add(new Finish(input.InputId, (int)InputStatus.Terminated, Outcomes.Terminated()));
            }
            else if (input.InternalFailures < limit)
            {
                requeues.Add(new Requeue(input.InputId, holder, input.FunctionId, 0, InternalFailure: true));
                tx.WorkReady = true;
            }
            else
            {
                finishes.Add(new Finish(input.InputId, (int)InputStatus.Failure,
                    Outcomes.ContainerFailure(input.InputId, input.InternalFailures + 1, limit, reason)));
            }
        }
        var finished = await FinishAsync(tx, finishes).ConfigureAwait(false);
        await RequeueAsync(tx, requeues).ConfigureAwait(false);
        return finished;
    }
}
