namespace Modal.InProcess;

/// <summary>Limits of the in-process mode that keep a long-lived app's memory bounded.</summary>
internal sealed record InProcessOptions
{
    /// <summary>The defaults: results kept 7 days, as the control plane keeps them.</summary>
    public static InProcessOptions Default { get; } = new();

    /// <summary>How long a finished spawned call stays reachable by id.</summary>
    public TimeSpan ResultRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>The most finished spawned calls kept; beyond it the oldest finished are dropped first.</summary>
    public int MaxRetainedCalls { get; init; } = 100_000;

    /// <summary>The most inputs and child calls one spawned call's graph records, its descendants included.</summary>
    public int MaxCallGraphEntries { get; init; } = 10_000;

    /// <summary>The clock retention is measured with.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
