namespace Modal.Conformance;

/// <summary>A user type that travels as an argument and a result.</summary>
public sealed record Person(string Name, int Age, IReadOnlyList<string> Tags);
