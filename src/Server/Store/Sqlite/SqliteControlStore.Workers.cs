using Modal.Api;

namespace Modal.Server.Store;

internal sealed partial class SqliteControlStore
{
    /// <summary>Functions whose last claim found work (their next claim skips the look ahead).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _claimFoundWork = new(StringComparer.Ordinal);

    private const string ContainerColumns =
        "id, function_id, app_id, token_hash, CASE WHEN stop_requested = 1 THEN 'stopping' WHEN said_hello = 1 THEN 'running' ELSE 'launching' END, " +
        "replica, said_hello, stop_requested, kill_requested, launched_ms, idle_since_ms, running, slot_utilization";

    private static ContainerRow ReadContainer(Microsoft.Data.Sqlite.SqliteDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), SqliteTx.Bytes(r, 3), r.GetString(4), r.GetString(5), r.GetInt32(6) != 0,
        r.GetInt32(7) != 0, r.GetInt32(8) != 0, r.GetInt64(9), r.GetInt64(10), r.GetInt32(11), r.IsDBNull(12) ? null : r.GetDouble(12));

    public Task RegisterContainerAsync(NewContainer container) => WriteAsync((tx, now, _) => tx.Execute(
        "INSERT INTO containers(id, function_id, app_id, token_hash, replica, launched_ms, startup_deadline_ms, idle_since_ms) " +
        "VALUES($1, $2, $3, $4, $5, $6, $7, $6)",
        container.Id, container.FunctionId, container.AppId, container.TokenHash, container.Replica, now, now + container.StartupTimeoutMs));

    public Task<ContainerRow?> GetContainerAsync(string containerId) => ReadAsync(tx =>
        tx.Single($"SELECT {ContainerColumns} FROM containers WHERE id = $1", ReadContainer, containerId));

    public Task<IReadOnlyList<ContainerRow>> ListContainersAsync() => ReadAsync<IReadOnlyList<ContainerRow>>(tx =>
        tx.Query($"SELECT {ContainerColumns} FROM containers ORDER BY launched_ms", ReadContainer));

    public Task<bool> ContainerHelloAsync(string containerId, string? startupError, long leaseMs, bool started = true) => WriteAsync((tx, now, _) =>
    {
        string? functionId = tx.Scalar<string>("SELECT function_id FROM containers WHERE id = $1", containerId);
        if (functionId is null)
        {
            return false;
        }
        tx.Execute("UPDATE containers SET said_hello = 1, lease_expires_ms = $2 WHERE id = $1", containerId, now + leaseMs);
        if (started && startupError is null)
        {
            tx.Execute("UPDATE functions SET startup_failures = 0, last_startup_error = NULL WHERE id = $1", functionId);
        }
        return true;
    });

    public Task<int> RecordStartupFailureAsync(string functionId, string reason) => WriteAsync((tx, _, _) =>
        tx.Scalar<int?>("UPDATE functions SET startup_failures = startup_failures + 1, last_startup_error = $2 WHERE id = $1 RETURNING startup_failures",
            functionId, reason) ?? 0);

    public Task<Completed> FailQueuedInputsAsync(string functionId, byte[] result) => WriteAsync((tx, now, signals) =>
    {
        var inputs = tx.Query("SELECT id, call_id FROM inputs WHERE function_id = $1 AND status = 0 AND holder IS NULL",
            r => (Id: r.GetString(0), CallId: r.GetString(1)), functionId);
        foreach (var input in inputs)
        {
            FinishInput(tx, input.Id, (int)AttemptPolicy.StatusOf(result), result);
        }
        return new Completed(inputs.Select(i => i.CallId).Distinct(StringComparer.Ordinal).ToList(), inputs.Count, 0, 0);
    });

    public async Task<IReadOnlyList<ClaimedAssignment>> ClaimAsync(string functionId, IReadOnlyList<ContainerCredit> credits)
    {
        // Idle workers ask many times a second: look first, so that nothing is committed when nothing is ready. An
        // enqueue that commits after this look signals the dispatcher, which claims again.
        // After a claim that found work, claim again at once: during a map there is almost always more.
        long now = NowMs;
        if (!_claimFoundWork.ContainsKey(functionId) && await ReadAsync(tx => tx.Scalar<int?>(
                "SELECT 1 FROM inputs WHERE function_id = $1 AND status = 0 AND holder IS NULL AND ready_at_ms <= $2 LIMIT 1", functionId, now))
            .ConfigureAwait(false) is null)
        {
            return [];
        }
        var claimed = await ClaimNowAsync(functionId, credits).ConfigureAwait(false);
        if (claimed.Count > 0)
        {
            _claimFoundWork[functionId] = true;
        }
        else
        {
            _claimFoundWork.TryRemove(functionId, out _);
        }
        return claimed;
    }

    private Task<IReadOnlyList<ClaimedAssignment>> ClaimNowAsync(string functionId, IReadOnlyList<ContainerCredit> credits) =>
        WriteAsync<IReadOnlyList<ClaimedAssignment>>((tx, now, _) =>
        {
            var function = tx.Single(
                "SELECT f.batch_size, f.batch_wait_ms, f.timeout_s, a.stopped FROM functions f JOIN apps a ON a.id = f.app_id WHERE f.id = $1",
                r => new { BatchSize = r.GetInt32(0), WaitMs = r.GetInt32(1), TimeoutSeconds = r.GetInt32(2), Stopped = r.GetInt32(3) != 0 },
                functionId);
            var assignments = new List<ClaimedAssignment>();
            if (function is null || function.Stopped)
            {
                return assignments;
            }
            long deadline = now + function.TimeoutSeconds * 1000L;
            bool batched = function.BatchSize > 1 || function.WaitMs > 0;
            if (!batched)
            {
                return ClaimSingles(tx, functionId, credits, now, deadline);
            }
            foreach (var credit in credits)
            {
                bool live = tx.Scalar<int?>("SELECT 1 FROM containers WHERE id = $1 AND function_id = $2 AND stop_requested = 0",
                    credit.ContainerId, functionId) is not null;
                for (int n = 0; live && n < credit.Assignments; n++)
                {
                    var ready = tx.Query(
                        "SELECT i.id, i.call_id, i.idx, i.attempt, i.args, c.is_generator, i.ready_at_ms FROM inputs i JOIN calls c ON c.id = i.call_id " +
                        "WHERE i.function_id = $1 AND i.status = 0 AND i.holder IS NULL AND i.ready_at_ms <= $2 ORDER BY i.ready_at_ms LIMIT $3 + 0",
                        r => new { Id = r.GetString(0), CallId = r.GetString(1), Index = r.GetInt32(2), Attempt = r.GetInt32(3),
                            Args = SqliteTx.Bytes(r, 4), IsGenerator = r.GetInt32(5) != 0, ReadyAt = r.GetInt64(6) },
                        functionId, now, function.BatchSize);
                    if (ready.Count == 0 || (batched && ready.Count < function.BatchSize && now - ready[0].ReadyAt < function.WaitMs))
                    {
                        break;
                    }
                    var claimed = new List<ClaimedInput>(ready.Count);
                    foreach (var input in ready)
                    {
                        int attempt = input.Attempt + 1;
                        tx.Execute("UPDATE inputs SET holder = $2, attempt = $3, claimed_ms = $4, deadline_ms = $5 WHERE id = $1",
                            input.Id, credit.ContainerId, attempt, now, deadline);
                        if (input.IsGenerator)
                        {
                            // A re-run generator starts over: only the new attempt's items are visible.
                            tx.Execute("DELETE FROM chunks WHERE call_id = $1 AND attempt < $2", input.CallId, attempt);
                            tx.Execute("UPDATE calls SET gen_attempt = $2 WHERE id = $1", input.CallId, attempt);
                        }
                        claimed.Add(new ClaimedInput(input.Id, input.CallId, input.Index, attempt, input.Args, deadline, input.IsGenerator));
                    }
                    tx.Execute("UPDATE functions SET ready = ready - $2, running = running + $2 WHERE id = $1", functionId, claimed.Count);
                    tx.Execute("UPDATE containers SET running = running + $2 WHERE id = $1", credit.ContainerId, claimed.Count);
                    assignments.Add(new ClaimedAssignment(credit.ContainerId, claimed));
                }
            }
            return assignments;
        });

    /// <summary>
    /// Claims for a function whose assignments are single inputs: one statement per container takes its inputs, oldest
    /// first, and returns them; the generator flag is read once per call.
    /// </summary>
    private static List<ClaimedAssignment> ClaimSingles(SqliteTx tx, string functionId, IReadOnlyList<ContainerCredit> credits, long now, long deadline,
        (string CallId, bool IsGenerator)? knownCall = null)
    {
        var assignments = new List<ClaimedAssignment>();
        var generatorCalls = new Dictionary<string, bool>(StringComparer.Ordinal);
        if (knownCall is { } known)
        {
            generatorCalls[known.CallId] = known.IsGenerator;
        }
        foreach (var credit in credits)
        {
            if (credit.Assignments <= 0 || tx.Scalar<int?>("SELECT 1 FROM containers WHERE id = $1 AND function_id = $2 AND stop_requested = 0",
                    credit.ContainerId, functionId) is null)
            {
                continue;
            }
            var claimed = tx.Query(
                "UPDATE inputs SET holder = $2, attempt = attempt + 1, claimed_ms = $3, deadline_ms = $4 WHERE id IN " +
                "(SELECT id FROM inputs WHERE function_id = $1 AND status = 0 AND holder IS NULL AND ready_at_ms <= $3 ORDER BY ready_at_ms LIMIT $5 + 0) " +
                "RETURNING id, call_id, idx, attempt, args, ready_at_ms, rowid",
                r => (Id: r.GetString(0), CallId: r.GetString(1), Index: r.GetInt32(2), Attempt: r.GetInt32(3), Args: SqliteTx.Bytes(r, 4),
                    ReadyAt: r.GetInt64(5), RowId: r.GetInt64(6)),
                functionId, credit.ContainerId, now, deadline, credit.Assignments);
            if (claimed.Count == 0)
            {
                break; // Nothing left for the other containers either.
            }
            claimed.Sort((a, b) => a.ReadyAt != b.ReadyAt ? a.ReadyAt.CompareTo(b.ReadyAt) : a.RowId.CompareTo(b.RowId));
            foreach (var input in claimed)
            {
                if (!generatorCalls.TryGetValue(input.CallId, out bool isGenerator))
                {
                    isGenerator = tx.Scalar<int>("SELECT is_generator FROM calls WHERE id = $1", input.CallId) != 0;
                    generatorCalls[input.CallId] = isGenerator;
                }
                if (isGenerator)
                {
                    // A re-run generator starts over: only the new attempt's items are visible.
                    tx.Execute("DELETE FROM chunks WHERE call_id = $1 AND attempt < $2", input.CallId, input.Attempt);
                    tx.Execute("UPDATE calls SET gen_attempt = $2 WHERE id = $1", input.CallId, input.Attempt);
                }
                assignments.Add(new ClaimedAssignment(credit.ContainerId,
                    [new ClaimedInput(input.Id, input.CallId, input.Index, input.Attempt, input.Args, deadline, isGenerator)]));
            }
            tx.Execute("UPDATE functions SET ready = ready - $2, running = running + $2 WHERE id = $1", functionId, claimed.Count);
            tx.Execute("UPDATE containers SET running = running + $2 WHERE id = $1", credit.ContainerId, claimed.Count);
        }
        return assignments;
    }

    public Task<Completed> CompleteAsync(string containerId, IReadOnlyList<AttemptResult> results) => WriteAsync((tx, now, signals) =>
    {
        var calls = new HashSet<string>(StringComparer.Ordinal);
        int finished = 0, retried = 0, ignored = 0;
        foreach (var result in results)
        {
            var status = AttemptPolicy.StatusOf(result.Result);
            if (status == InputStatus.Success)
            {
                // A success is final whatever the policy says: end it in one fenced statement.
                if (tx.Finisher.FinishHeld(tx, result.InputId, containerId, result.Attempt, (int)status, result.Result) is { } callId)
                {
                    calls.Add(callId);
                    finished++;
                }
                else
                {
                    ignored++;
                }
                continue;
            }
            var input = tx.Single(
                "SELECT i.call_id, i.function_id, i.retries_used, c.cancelled, c.is_generator, f.max_retries, f.backoff, f.initial_delay_ms, " +
                "f.max_delay_ms FROM inputs i JOIN calls c ON c.id = i.call_id JOIN functions f ON f.id = i.function_id " +
                "WHERE i.id = $1 AND i.status = 0 AND i.holder = $2 AND i.attempt = $3",
                r => new
                {
                    CallId = r.GetString(0), FunctionId = r.GetString(1), RetriesUsed = r.GetInt32(2), Cancelled = r.GetInt32(3) != 0,
                    IsGenerator = r.GetInt32(4) != 0, Retries = new RetryParameters(r.GetInt32(5), r.GetDouble(6), r.GetInt32(7), r.GetInt32(8)),
                },
                result.InputId, containerId, result.Attempt);
            if (input is null)
            {
                ignored++; // Stale (an older attempt or another holder), duplicate, or already finished.
                continue;
            }
            if (AttemptPolicy.RetryDelayMs(input.Retries, status, input.RetriesUsed, input.Cancelled, input.IsGenerator) is { } delay)
            {
                Release(tx, result.InputId, containerId, input.FunctionId, now + delay, internalFailure: false, now);
                signals.Add(s => s.WorkReadyAfter(delay));
                retried++;
            }
            else
            {
                FinishInput(tx, result.InputId, (int)status, result.Result);
                calls.Add(input.CallId);
                finished++;
            }
        }
        return new Completed([.. calls], finished, retried, ignored);
    });

    /// <summary>Puts a held input back in the queue for another attempt.</summary>
    private static void Release(SqliteTx tx, string inputId, string holder, string functionId, long readyAt, bool internalFailure, long now)
    {
        tx.Execute(internalFailure
                ? "UPDATE inputs SET holder = NULL, internal_failures = internal_failures + 1, ready_at_ms = $2 WHERE id = $1"
                : "UPDATE inputs SET holder = NULL, retries_used = retries_used + 1, ready_at_ms = $2 WHERE id = $1",
            inputId, readyAt);
        tx.Execute("UPDATE functions SET ready = ready + 1, running = running - 1 WHERE id = $1", functionId);
        ReleaseSlots(tx, holder, 1, now);
    }

    /// <summary>A held input's container failed: re-queue it at once, or fail it after too many such failures.</summary>
    private static void RequeueOrFail(SqliteTx tx, string inputId, string holder, string reason, int limit, long now,
        List<Action<StoreSignals>> signals, ISet<string> finishedCalls)
    {
        var input = tx.Single(
            "SELECT i.call_id, i.function_id, i.internal_failures, c.cancelled FROM inputs i JOIN calls c ON c.id = i.call_id " +
            "WHERE i.id = $1 AND i.status = 0 AND i.holder = $2",
            r => new { CallId = r.GetString(0), FunctionId = r.GetString(1), Failures = r.GetInt32(2), Cancelled = r.GetInt32(3) != 0 },
            inputId, holder);
        if (input is null)
        {
            return;
        }
        if (input.Cancelled)
        {
            FinishInput(tx, inputId, (int)InputStatus.Terminated, Outcomes.Terminated());
            finishedCalls.Add(input.CallId);
        }
        else if (input.Failures < limit)
        {
            Release(tx, inputId, holder, input.FunctionId, now, internalFailure: true, now);
            signals.Add(s => s.WorkReady());
        }
        else
        {
            FinishInput(tx, inputId, (int)InputStatus.Failure, Outcomes.ContainerFailure(inputId, input.Failures + 1, limit, reason));
            finishedCalls.Add(input.CallId);
        }
    }

    public Task<bool> AppendChunksAsync(string containerId, string inputId, int attempt, IReadOnlyList<ChunkRecord> chunks) =>
        WriteAsync((tx, _, signals) =>
        {
            string? callId = tx.Scalar<string>("SELECT call_id FROM inputs WHERE id = $1 AND status = 0 AND holder = $2 AND attempt = $3",
                inputId, containerId, attempt);
            if (callId is null)
            {
                return false;
            }
            foreach (var chunk in chunks)
            {
                // A resent item (the worker retried after a lost answer) is the same item: keep the first.
                tx.Execute("INSERT OR IGNORE INTO chunks(call_id, attempt, idx, data) VALUES($1, $2, $3, $4)", callId, attempt, chunk.Index, chunk.Data);
            }
            signals.Add(s => s.CallChanged(callId));
            return true;
        });

    public Task<HeartbeatResult> HeartbeatContainerAsync(string containerId, IReadOnlyList<ActiveAttempt> active, long leaseMs, long graceMs,
        double? slotUtilization = null) =>
        WriteAsync((tx, now, signals) =>
        {
            var container = tx.Single("SELECT stop_requested FROM containers WHERE id = $1", r => new { Stop = r.GetInt32(0) != 0 }, containerId);
            if (container is null)
            {
                return new HeartbeatResult(false, [], true, 0);
            }
            tx.Execute("UPDATE containers SET lease_expires_ms = $2, said_hello = 1, slot_utilization = COALESCE($3, slot_utilization) WHERE id = $1",
                containerId, now + leaseMs, slotUtilization);
            var held = tx.Query("SELECT id, attempt, claimed_ms FROM inputs WHERE holder = $1 AND status = 0",
                r => (Id: r.GetString(0), Attempt: r.GetInt32(1), ClaimedMs: r.GetInt64(2)), containerId);
            var reported = active.ToDictionary(a => a.InputId, a => a.Attempt, StringComparer.Ordinal);
            var cancelled = active.Where(a => !held.Any(h => h.Id == a.InputId && h.Attempt == a.Attempt)).Select(a => a.InputId).ToList();
            int requeued = 0;
            var finishedCalls = new HashSet<string>(StringComparer.Ordinal);
            foreach (var input in held)
            {
                if (!reported.ContainsKey(input.Id) && input.ClaimedMs < now - graceMs)
                {
                    // The worker does not run it: its assignment was lost (a stream broke). Run it elsewhere.
                    RequeueOrFail(tx, input.Id, containerId, $"container {containerId} did not receive it", int.MaxValue, now, signals, finishedCalls);
                    requeued++;
                }
            }
            return new HeartbeatResult(true, cancelled, container.Stop, requeued);
        });

    public Task<ContainerEnded> EndContainerAsync(string containerId, string reason, int internalFailureLimit) => WriteAsync((tx, now, signals) =>
    {
        var container = tx.Single("SELECT function_id, said_hello FROM containers WHERE id = $1",
            r => new { FunctionId = r.GetString(0), SaidHello = r.GetInt32(1) != 0 }, containerId);
        if (container is null)
        {
            return new ContainerEnded(false, "", false, null, 0, []);
        }
        var held = tx.Query("SELECT id FROM inputs WHERE holder = $1 AND status = 0", r => r.GetString(0), containerId);
        var finishedCalls = new HashSet<string>(StringComparer.Ordinal);
        foreach (string inputId in held)
        {
            RequeueOrFail(tx, inputId, containerId, $"container {containerId} stopped: {reason}", internalFailureLimit, now, signals, finishedCalls);
        }
        tx.Execute("DELETE FROM containers WHERE id = $1", containerId);
        signals.Add(s => s.WorkReady());
        return new ContainerEnded(true, container.FunctionId, container.SaidHello, null, held.Count, [.. finishedCalls]);
    });

    public Task RequestContainerStopAsync(string containerId, bool kill) => WriteAsync((tx, _, _) =>
        tx.Execute("UPDATE containers SET stop_requested = 1, kill_requested = MAX(kill_requested, $2) WHERE id = $1", containerId, kill));

    public Task<IReadOnlyList<string>> FindExpiredContainersAsync() => ReadAsync<IReadOnlyList<string>>(tx =>
        tx.Query("SELECT id FROM containers WHERE (said_hello = 1 AND lease_expires_ms < $1) OR (said_hello = 0 AND startup_deadline_ms < $1)",
            r => r.GetString(0), NowMs));

    public Task<IReadOnlyList<OverrunInput>> FindOverrunInputsAsync(long graceMs) => ReadAsync<IReadOnlyList<OverrunInput>>(tx =>
        tx.Query("SELECT i.id, i.attempt, i.holder, f.name, f.timeout_s FROM inputs i JOIN functions f ON f.id = i.function_id " +
            "WHERE i.holder IS NOT NULL AND i.status = 0 AND i.deadline_ms < $1",
            r => new OverrunInput(r.GetString(0), r.GetInt32(1), r.GetString(2), r.GetString(3), r.GetInt32(4)), NowMs - graceMs));

    public Task<Completed> TimeOutAsync(OverrunInput input) =>
        CompleteAsync(input.ContainerId, [new AttemptResult(input.InputId, input.Attempt, Outcomes.Timeout(input.FunctionName, input.InputId, input.TimeoutSeconds))]);
}
