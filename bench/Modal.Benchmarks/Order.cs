namespace Modal.Benchmarks;

/// <summary>A user record, written by member name (MessagePack's contractless resolver).</summary>
public sealed record Order(string Sku, int Quantity, decimal UnitPrice, IReadOnlyList<string> Tags);
