using System;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Modal.Generator.Model;

/// <summary>A diagnostic to report, held as its descriptor's id, its message arguments and a plain location.</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> MessageArguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params object?[] messageArguments)
        => new(descriptor.Id, location, messageArguments.Select(argument => Convert.ToString(argument, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToEquatableArray());

    public Diagnostic ToDiagnostic()
        => Diagnostic.Create(
            DiagnosticDescriptors.ById(Id),
            Location?.ToLocation() ?? Microsoft.CodeAnalysis.Location.None,
            MessageArguments.Cast<object?>().ToArray());
}
