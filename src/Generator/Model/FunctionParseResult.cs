namespace Modal.Generator.Model;

/// <summary>The result of parsing one method: its model when it has no errors, and its diagnostics.</summary>
internal sealed record FunctionParseResult(FunctionModel? Function, EquatableArray<DiagnosticInfo> Diagnostics);
