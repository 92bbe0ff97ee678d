namespace Modal.Generator.Model;

/// <summary>A parameter that is sent over the wire: its escaped name and fully qualified type.</summary>
internal sealed record ParameterModel(string Name, string Type);
