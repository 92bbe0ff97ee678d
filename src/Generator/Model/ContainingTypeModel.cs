namespace Modal.Generator.Model;

/// <summary>One containing type, outermost first: its declaration keyword and name.</summary>
internal sealed record ContainingTypeModel(string Keyword, string Name);
