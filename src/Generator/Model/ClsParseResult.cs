namespace Modal.Generator.Model;

/// <summary>
/// The result of parsing one <c>[Cls]</c> class: its model when it has no errors, its diagnostics, and where its remote
/// name is written (for the checks across functions and classes).
/// </summary>
internal sealed record ClsParseResult(ClsModel? Cls, EquatableArray<DiagnosticInfo> Diagnostics, LocationInfo? NameLocation = null);
