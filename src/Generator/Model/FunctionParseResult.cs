namespace Modal.Generator.Model;

/// <summary>
/// The result of parsing one method: its model when it has no errors, its diagnostics, and the locations that the
/// checks across functions report at. The locations stay out of <see cref="FunctionModel"/> so that the source output
/// does not depend on them.
/// </summary>
internal sealed record FunctionParseResult(
    FunctionModel? Function,
    EquatableArray<DiagnosticInfo> Diagnostics,
    LocationInfo? MethodLocation = null,
    LocationInfo? NameLocation = null);
