namespace Modal.Reliability.Tests;

/// <summary>One app per process at a time, and tests that load the machine: the reliability tests run one after another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilityCollection
{
    public const string Name = "Modal reliability";
}
