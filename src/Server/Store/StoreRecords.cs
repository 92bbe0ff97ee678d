namespace Modal.Server.Store;

/// <summary>An app as stored; <paramref name="Launch"/> is the serialized WorkerLaunchSpec.</summary>
internal sealed record AppRecord(string Id, string Name, int Kind, string State, long CreatedUnixMs, byte[] Launch);

/// <summary>A function as stored; <paramref name="Spec"/> is the serialized FunctionSpec.</summary>
internal sealed record FunctionRecord(string Id, string AppId, string Name, byte[] Spec, int WarmPool);

/// <summary>A function call.</summary>
internal sealed record CallRecord(
    string Id, string FunctionId, int Invocation, string? ParentInputId, bool IsGenerator, long CreatedUnixMs, bool Expired);

/// <summary>An input; <paramref name="Arguments"/> is the serialized Payload.</summary>
internal sealed record InputRecord(
    string Id, string CallId, string FunctionId, int Index, byte[] Arguments, int Status, int Attempt,
    int RetriesUsed, int InternalFailures, string? ParentInputId);

/// <summary>An output; <paramref name="Result"/> is the serialized FunctionResult; the cursor grows monotonically.</summary>
internal sealed record OutputRecord(long Cursor, string CallId, string InputId, int Index, byte[] Result);

/// <summary>A generator item; <paramref name="Data"/> is the serialized Payload.</summary>
internal sealed record ChunkRecord(long Index, byte[] Data);

/// <summary>A row of the call graph.</summary>
internal sealed record CallGraphRow(string InputId, string CallId, string FunctionName, int Status, string? ParentInputId);

/// <summary>An input's final state together with its output.</summary>
internal sealed record InputCompletion(string InputId, string CallId, int Index, int Status, byte[] Result);
