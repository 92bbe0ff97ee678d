namespace Modal;

/// <summary>A function's queue and runners at one moment (Modal's <c>get_current_stats</c>).</summary>
/// <param name="Backlog">Inputs waiting for a container.</param>
/// <param name="NumTotalRunners">Containers running this function.</param>
public sealed record FunctionStats(int Backlog, int NumTotalRunners);
