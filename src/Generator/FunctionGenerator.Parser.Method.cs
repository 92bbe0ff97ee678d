using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Modal.Generator.Model;

namespace Modal.Generator;

public sealed partial class FunctionGenerator
{
    internal static partial class Parser
    {
        /// <summary>
        /// Reads one <c>[Function]</c> method: the rules on the method, its containing types, its parameters and return
        /// type, and its shape (unary, generator, batched). Option attributes are read in <c>Parser.Options.cs</c>; whether a
        /// type can cross the wire is <see cref="TypeAnalysis"/>'s.
        /// </summary>
        private sealed class MethodParser
        {
            private readonly Compilation _compilation;
            private readonly AttributeData _attribute;
            private readonly CancellationToken _cancellationToken;
            private readonly IMethodSymbol _method;
            private readonly MethodDeclarationSyntax _syntax;
            private readonly List<DiagnosticInfo> _diagnostics = new();
            private readonly string _methodName;

            /// <summary>For a <c>[Method]</c> of a <c>[Cls]</c> class: the class's remote name; null for a <c>[Function]</c>.</summary>
            private readonly string? _clsName;

            public MethodParser(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
                : this((IMethodSymbol)context.TargetSymbol, (MethodDeclarationSyntax)context.TargetNode, context.Attributes[0],
                    context.SemanticModel.Compilation, clsName: null, cancellationToken)
            {
            }

            public MethodParser(IMethodSymbol method, MethodDeclarationSyntax syntax, AttributeData attribute, Compilation compilation,
                string? clsName, CancellationToken cancellationToken)
            {
                _compilation = compilation;
                _attribute = attribute;
                _cancellationToken = cancellationToken;
                _method = method;
                _syntax = syntax;
                _methodName = _method.Name;
                _clsName = clsName;
            }

            private LocationInfo? MethodLocation => LocationInfo.From(_syntax.Identifier);

            private OptionsParser Options => new(_methodName, MethodLocation, _diagnostics, _cancellationToken);

            private void Report(DiagnosticDescriptor descriptor, LocationInfo? location, params object?[] arguments)
                => _diagnostics.Add(DiagnosticInfo.Create(descriptor, location ?? MethodLocation, arguments));

            public FunctionParseResult Parse()
            {
                if (_clsName is not null)
                {
                    if (_method.IsStatic)
                    {
                        Report(DiagnosticDescriptors.ClsMethodStatic, MethodLocation, _methodName, _method.ContainingType.Name);
                    }
                }
                else if (!_method.IsStatic)
                {
                    Report(DiagnosticDescriptors.MethodNotStatic, MethodLocation, _methodName);
                }
                if (_method.MethodKind != MethodKind.Ordinary || !_method.ExplicitInterfaceImplementations.IsEmpty)
                {
                    Report(DiagnosticDescriptors.ExplicitInterfaceImplementation, MethodLocation, _methodName);
                }
                // [Obsolete(..., error: true)] makes every use an error that no #pragma can suppress.
                for (ISymbol? symbol = _method; symbol is not null; symbol = symbol.ContainingType)
                {
                    if (symbol.GetAttributes().Any(attribute => attribute.AttributeClass?.ToDisplayString() == "System.ObsoleteAttribute"
                        && attribute.ConstructorArguments.Length == 2 && attribute.ConstructorArguments[1].Value is true))
                    {
                        Report(DiagnosticDescriptors.ObsoleteAsError, MethodLocation, _methodName, symbol is IMethodSymbol ? _methodName : symbol.Name);
                        break;
                    }
                }
                if (_method.IsGenericMethod)
                {
                    Report(DiagnosticDescriptors.MethodGeneric, LocationInfo.From(_syntax.TypeParameterList), _methodName, _syntax.TypeParameterList?.ToString());
                }

                // A [Method]'s class is checked, and its options read, by the class's own parser.
                var containingTypes = _clsName is null ? ParseContainingTypes() : new List<ContainingTypeModel>();
                string remoteName = _clsName is null ? _methodName : _clsName + "." + _methodName;
                LocationInfo? nameLocation = MethodLocation;
                var functionOptions = _clsName is null ? Options.ParseFunctionOptions(_attribute, out remoteName, out nameLocation) : new List<string>();
                var retries = FindAttribute("Modal.RetriesAttribute");
                var batched = FindAttribute("Modal.BatchedAttribute");
                if (_clsName is not null)
                {
                    ReportUnsupportedOnMethod(retries, "[Retries] applies to every method of a class: put it on the [Cls] class");
                    ReportUnsupportedOnMethod(batched, "a method of a [Cls] class cannot be batched: declare a batched [Function] instead");
                    retries = null;
                    batched = null;
                }

                var (parameters, cancellationTokenName, parameterSymbols) = ParseParameters();
                var (returnShape, resultType) = ParseReturnType();

                FunctionShape kind = returnShape == ReturnShape.AsyncEnumerable ? FunctionShape.Generator : FunctionShape.Unary;
                string? batchListType = null;
                string? batchParameterName = null;
                string? resultTypeName = resultType?.ToDisplayString(s_fullyQualified);
                if (batched is not null)
                {
                    if (returnShape == ReturnShape.AsyncEnumerable)
                    {
                        Report(DiagnosticDescriptors.BatchedGenerator, LocationInfo.From(batched.ApplicationSyntaxReference?.GetSyntax(_cancellationToken)), _methodName);
                    }
                    else if (ParseBatchedShape(parameterSymbols, resultType, out var elementType, out var elementResult))
                    {
                        kind = FunctionShape.Batched;
                        var listParameter = parameterSymbols[0];
                        batchListType = listParameter.Type.ToDisplayString(s_fullyQualified);
                        batchParameterName = EscapeIdentifier(listParameter.Name);
                        parameters = new[] { new ParameterModel(EscapeIdentifier(ElementName(listParameter.Name)), elementType!.ToDisplayString(s_fullyQualified)) };
                        resultTypeName = elementResult!.ToDisplayString(s_fullyQualified);
                    }
                }

                var options = new List<string>(functionOptions);
                if (retries is not null)
                {
                    options.Add(Options.ParseRetries(retries));
                }
                if (batched is not null)
                {
                    options.Add(Options.ParseBatched(batched));
                }

                if (_diagnostics.Any(diagnostic => DiagnosticDescriptors.ById(diagnostic.Id).DefaultSeverity == DiagnosticSeverity.Error))
                {
                    return new FunctionParseResult(null, _diagnostics.ToEquatableArray(), MethodLocation, nameLocation);
                }

                // A nullable-annotated task, stream or batch list is dereferenced by the generated code: 'await F(x)!'.
                bool callResultMayBeNull = returnShape is ReturnShape.Task or ReturnShape.TaskOfResult or ReturnShape.AsyncEnumerable
                    && _method.ReturnType.NullableAnnotation == NullableAnnotation.Annotated;
                bool batchResultsMayBeNull = kind == FunctionShape.Batched && resultType?.NullableAnnotation == NullableAnnotation.Annotated;

                var type = _method.ContainingType;
                string ns = type.ContainingNamespace is { IsGlobalNamespace: false } containingNamespace ? containingNamespace.ToDisplayString() : "";
                var model = new FunctionModel(
                    Namespace: ns,
                    ContainingTypes: containingTypes.ToEquatableArray(),
                    ContainingTypeFullName: type.ToDisplayString(s_fullyQualified),
                    ContainingTypeCref: type.ToDisplayString(s_crefName),
                    MethodName: EscapeIdentifier(_methodName),
                    MethodCref: MethodCref(),
                    RemoteName: remoteName,
                    Kind: kind,
                    ReturnShape: returnShape,
                    MethodReturnType: _method.ReturnType.ToDisplayString(s_fullyQualified),
                    ResultType: resultTypeName,
                    Parameters: parameters.ToEquatableArray(),
                    BatchListType: batchListType,
                    BatchParameterName: batchParameterName,
                    CancellationTokenName: cancellationTokenName,
                    Signature: Signature(parameterSymbols, resultType, returnShape),
                    OptionInitializers: options.ToEquatableArray(),
                    IsPublic: TypeAnalysis.IsEffectivelyPublic(_method.ReturnType) && _method.Parameters.All(parameter => TypeAnalysis.IsEffectivelyPublic(parameter.Type)),
                    CallResultMayBeNull: callResultMayBeNull,
                    BatchResultsMayBeNull: batchResultsMayBeNull,
                    HidesInheritedFunctions: _clsName is null && HidesInheritedFunctions(),
                    ExperimentalDiagnosticIds: ExperimentalDiagnosticIds())
                {
                    ClsName = _clsName,
                };
                return new FunctionParseResult(model, _diagnostics.ToEquatableArray(), MethodLocation, nameLocation);
            }

            private void ReportUnsupportedOnMethod(AttributeData? attribute, string reason)
            {
                if (attribute is not null)
                {
                    Report(DiagnosticDescriptors.ClsMethodAttributeNotSupported, LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(_cancellationToken)),
                        _methodName, _method.ContainingType.Name, attribute.AttributeClass?.Name.Replace("Attribute", ""), reason);
                }
            }

            private AttributeData? FindAttribute(string name)
                => _method.GetAttributes().FirstOrDefault(attribute => attribute.AttributeClass?.ToDisplayString() == name);

            private List<ContainingTypeModel> ParseContainingTypes()
            {
                var result = new List<ContainingTypeModel>();
                var declarations = _syntax.Ancestors().OfType<TypeDeclarationSyntax>().GetEnumerator();
                for (var type = _method.ContainingType; type is not null; type = type.ContainingType)
                {
                    if (!declarations.MoveNext())
                    {
                        break;
                    }
                    var declaration = declarations.Current;
                    var identifier = LocationInfo.From(declaration.Identifier);
                    string keyword = declaration switch
                    {
                        RecordDeclarationSyntax record when record.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) => "record struct",
                        RecordDeclarationSyntax => "record",
                        StructDeclarationSyntax => "struct",
                        ClassDeclarationSyntax => "class",
                        _ => "",
                    };
                    if (keyword.Length == 0)
                    {
                        Report(DiagnosticDescriptors.UnsupportedContainingType, identifier, _methodName, declaration.Keyword.ValueText, type.Name);
                    }
                    if (!declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                    {
                        Report(DiagnosticDescriptors.ContainingTypeNotPartial, identifier, type.Name, _methodName);
                    }
                    if (type.IsGenericType)
                    {
                        Report(DiagnosticDescriptors.ContainingTypeGeneric, LocationInfo.From(declaration.TypeParameterList) ?? identifier, type.Name, _methodName, declaration.TypeParameterList?.ToString());
                    }
                    string? inaccessible = type.DeclaredAccessibility switch
                    {
                        Accessibility.Private => "private",
                        Accessibility.Protected => "protected",
                        Accessibility.ProtectedAndInternal => "private protected",
                        _ => null,
                    };
                    if (inaccessible is not null)
                    {
                        Report(DiagnosticDescriptors.ContainingTypeInaccessible, identifier, type.Name, _methodName, inaccessible);
                    }
                    if (type.IsFileLocal)
                    {
                        Report(DiagnosticDescriptors.ContainingTypeFileLocal, identifier, type.Name, _methodName);
                    }
                    if (SymbolEqualityComparer.Default.Equals(type, _method.ContainingType) && type.Name == "Functions")
                    {
                        Report(DiagnosticDescriptors.ContainingTypeNamedFunctions, identifier, ContainingTypeDisplay(), _methodName);
                    }
                    result.Insert(0, new ContainingTypeModel(keyword, EscapeIdentifier(type.Name)));
                }
                if (!_method.ContainingType!.GetMembers("Functions").IsEmpty)
                {
                    Report(DiagnosticDescriptors.FunctionsMemberExists, MethodLocation, _method.ContainingType.Name, _methodName);
                }
                return result;
            }

            private string ContainingTypeDisplay()
            {
                var names = new List<string>();
                for (var type = _method.ContainingType; type is not null; type = type.ContainingType)
                {
                    names.Insert(0, type.Name);
                }
                return string.Join(".", names);
            }

            /// <summary>
            /// Whether a base type has an accessible member named 'Functions' (its own, or the nested class generated for its
            /// functions, which this run does not see as a member), so the generated class must be declared 'new'.
            /// </summary>
            private bool HidesInheritedFunctions()
            {
                var containingType = _method.ContainingType;
                var compilation = _compilation;
                for (var baseType = containingType.BaseType; baseType is not null; baseType = baseType.BaseType)
                {
                    if (baseType.GetMembers("Functions").Any(member => compilation.IsSymbolAccessibleWithin(member, containingType)))
                    {
                        return true;
                    }
                    if (SymbolEqualityComparer.Default.Equals(baseType.ContainingAssembly, compilation.Assembly)
                        && baseType.DeclaringSyntaxReferences.Any(reference => reference.GetSyntax(_cancellationToken) is TypeDeclarationSyntax declaration
                            && declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                        && baseType.GetMembers().OfType<IMethodSymbol>().Any(method => method.IsStatic
                            && method.GetAttributes().Any(attribute => attribute.AttributeClass?.ToDisplayString() == FunctionAttributeName)))
                    {
                        return true;
                    }
                }
                return false;
            }

            /// <summary>
            /// The ids of the [Experimental] APIs that the generated code uses (the method, its containing types, its parameter
            /// and return types), so the generated files can suppress them: the user has already opted in where they declared the method.
            /// </summary>
            private EquatableArray<string> ExperimentalDiagnosticIds()
            {
                var ids = new SortedSet<string>(StringComparer.Ordinal);
                var seen = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
                AddExperimental(_method, ids);
                foreach (var parameter in _method.Parameters)
                {
                    AddExperimental(parameter.Type, ids, seen);
                }
                AddExperimental(_method.ReturnType, ids, seen);
                AddExperimental(_method.ContainingType, ids, seen);
                return ids.ToEquatableArray();
            }

            private static void AddExperimental(ITypeSymbol type, SortedSet<string> ids, HashSet<ISymbol> seen)
            {
                if (!seen.Add(type))
                {
                    return;
                }
                switch (type)
                {
                    case IArrayTypeSymbol array:
                        AddExperimental(array.ElementType, ids, seen);
                        return;
                    case IPointerTypeSymbol pointer:
                        AddExperimental(pointer.PointedAtType, ids, seen);
                        return;
                    case INamedTypeSymbol named:
                        for (var current = named; current is not null; current = current.ContainingType)
                        {
                            AddExperimental(current, ids);
                            foreach (var argument in current.TypeArguments)
                            {
                                AddExperimental(argument, ids, seen);
                            }
                        }
                        if (named.ContainingModule is { } module)
                        {
                            AddExperimental(module, ids);
                        }
                        if (named.ContainingAssembly is { } assembly)
                        {
                            AddExperimental(assembly, ids);
                        }
                        return;
                }
            }

            private static void AddExperimental(ISymbol symbol, SortedSet<string> ids)
            {
                foreach (var attribute in symbol.GetAttributes())
                {
                    if (attribute.AttributeClass?.ToDisplayString() == "System.Diagnostics.CodeAnalysis.ExperimentalAttribute"
                        && attribute.ConstructorArguments.Length == 1
                        && attribute.ConstructorArguments[0].Value is string id
                        && id.Length > 0
                        && id.All(c => char.IsLetterOrDigit(c) || c == '_'))
                    {
                        ids.Add(id);
                    }
                }
            }

            private (ParameterModel[] Parameters, string? CancellationTokenName, List<IParameterSymbol> Symbols) ParseParameters()
            {
                var parameters = new List<ParameterModel>();
                var symbols = new List<IParameterSymbol>();
                string? cancellationTokenName = null;
                for (int i = 0; i < _method.Parameters.Length; i++)
                {
                    var parameter = _method.Parameters[i];
                    var syntax = i < _syntax.ParameterList.Parameters.Count ? _syntax.ParameterList.Parameters[i] : null;
                    var typeLocation = LocationInfo.From(syntax?.Type) ?? LocationInfo.From(syntax);
                    bool isLast = i == _method.Parameters.Length - 1;

                    foreach (var modifier in syntax?.Modifiers ?? default)
                    {
                        if (modifier.IsKind(SyntaxKind.RefKeyword) || modifier.IsKind(SyntaxKind.OutKeyword) || modifier.IsKind(SyntaxKind.InKeyword)
                            || modifier.IsKind(SyntaxKind.ParamsKeyword) || modifier.IsKind(SyntaxKind.ReadOnlyKeyword) || modifier.IsKind(SyntaxKind.ScopedKeyword))
                        {
                            Report(DiagnosticDescriptors.ParameterModifier, LocationInfo.From(modifier), parameter.Name, _methodName, modifier.ValueText);
                        }
                    }

                    if (parameter.Type is INamedTypeSymbol { TypeArguments.Length: 1 } nullable && IsType(nullable, "System.Nullable<T>")
                        && IsType(nullable.TypeArguments[0], "System.Threading.CancellationToken"))
                    {
                        Report(DiagnosticDescriptors.NullableCancellationToken, typeLocation, parameter.Name, _methodName);
                        continue;
                    }
                    if (IsType(parameter.Type, "System.Threading.CancellationToken"))
                    {
                        if (!isLast)
                        {
                            Report(DiagnosticDescriptors.CancellationTokenNotLast, LocationInfo.From(syntax), parameter.Name, _methodName);
                        }
                        else
                        {
                            cancellationTokenName = EscapeIdentifier(parameter.Name);
                        }
                        continue;
                    }

                    if (TypeAnalysis.NeverSerializes(parameter.Type) is { } reason)
                    {
                        Report(DiagnosticDescriptors.UnsupportedParameterType, typeLocation, parameter.Name, _methodName, parameter.Type.ToDisplayString(s_short), reason);
                    }
                    else if (TypeAnalysis.SerializationDoubt(parameter.Type) is { } doubt)
                    {
                        Report(DiagnosticDescriptors.ParameterMayNotSerialize, typeLocation, parameter.Name, _methodName, parameter.Type.ToDisplayString(s_short), doubt);
                    }
                    parameters.Add(new ParameterModel(EscapeIdentifier(parameter.Name), parameter.Type.ToDisplayString(s_fullyQualified)));
                    symbols.Add(parameter);
                }
                return (parameters.ToArray(), cancellationTokenName, symbols);
            }

            private (ReturnShape Shape, ITypeSymbol? Result) ParseReturnType()
            {
                var returnType = _method.ReturnType;
                var location = LocationInfo.From(_syntax.ReturnType);
                string display = returnType.ToDisplayString(s_short);
                if (_method.ReturnsByRef || _method.ReturnsByRefReadonly)
                {
                    Report(DiagnosticDescriptors.UnsupportedReturnType, location, _methodName, _syntax.ReturnType.ToString(), "is returned by reference");
                    return (ReturnShape.Value, null);
                }
                if (returnType.SpecialType == SpecialType.System_Void)
                {
                    if (_method.IsAsync)
                    {
                        Report(DiagnosticDescriptors.AsyncVoid, location, _methodName);
                    }
                    return (ReturnShape.Void, null);
                }
                ReturnShape shape;
                ITypeSymbol result;
                if (IsType(returnType, "System.Threading.Tasks.Task"))
                {
                    return (ReturnShape.Task, null);
                }
                if (IsType(returnType, "System.Threading.Tasks.ValueTask"))
                {
                    return (ReturnShape.ValueTask, null);
                }
                if (returnType is INamedTypeSymbol { TypeArguments.Length: 1 } generic && IsType(returnType, "System.Threading.Tasks.Task<TResult>"))
                {
                    (shape, result) = (ReturnShape.TaskOfResult, generic.TypeArguments[0]);
                }
                else if (returnType is INamedTypeSymbol { TypeArguments.Length: 1 } valueTask && IsType(returnType, "System.Threading.Tasks.ValueTask<TResult>"))
                {
                    (shape, result) = (ReturnShape.ValueTaskOfResult, valueTask.TypeArguments[0]);
                }
                else if (returnType is INamedTypeSymbol { TypeArguments.Length: 1 } stream && IsType(returnType, "System.Collections.Generic.IAsyncEnumerable<T>"))
                {
                    (shape, result) = (ReturnShape.AsyncEnumerable, stream.TypeArguments[0]);
                }
                else
                {
                    (shape, result) = (ReturnShape.Value, returnType);
                }

                string? reason = null;
                if (shape != ReturnShape.Value && TypeAnalysis.IsTaskOrAsyncStream(result))
                {
                    reason = "nests a task or an asynchronous stream inside another";
                }
                else if (TypeAnalysis.NeverSerializes(result) is { } never)
                {
                    reason = shape == ReturnShape.Value ? never
                        : $"has the {(shape == ReturnShape.AsyncEnumerable ? "item" : "result")} type '{TypeAnalysis.Display(result)}', which {never}";
                }
                if (reason is not null)
                {
                    Report(DiagnosticDescriptors.UnsupportedReturnType, location, _methodName, display, reason);
                    return (shape, null);
                }
                if (TypeAnalysis.SerializationDoubt(result) is { } doubt)
                {
                    Report(DiagnosticDescriptors.ReturnMayNotSerialize, location, _methodName, display, doubt);
                }
                return (shape, result);
            }

            private bool ParseBatchedShape(List<IParameterSymbol> parameters, ITypeSymbol? result, out ITypeSymbol? elementType, out ITypeSymbol? elementResult)
            {
                elementType = null;
                elementResult = null;
                bool ok = true;
                if (parameters.Count != 1)
                {
                    var location = parameters.Count > 1
                        ? LocationInfo.From(_syntax.ParameterList.Parameters[1])
                        : LocationInfo.From(_syntax.ParameterList);
                    Report(DiagnosticDescriptors.InvalidBatchedSignature, location, _methodName, $"takes {parameters.Count} parameters");
                    ok = false;
                }
                else if (parameters[0].Type is INamedTypeSymbol { TypeArguments.Length: 1 } list && IsType(list, "System.Collections.Generic.IReadOnlyList<T>"))
                {
                    elementType = list.TypeArguments[0];
                }
                else
                {
                    var syntax = _syntax.ParameterList.Parameters[_method.Parameters.IndexOf(parameters[0])];
                    Report(DiagnosticDescriptors.InvalidBatchedSignature, LocationInfo.From(syntax.Type), _methodName, $"takes '{parameters[0].Type.ToDisplayString(s_short)}'");
                    ok = false;
                }

                if (result is INamedTypeSymbol { TypeArguments.Length: 1 } resultList && IsType(resultList, "System.Collections.Generic.IReadOnlyList<T>"))
                {
                    elementResult = resultList.TypeArguments[0];
                }
                else if (!_diagnostics.Any(diagnostic => diagnostic.Id == DiagnosticDescriptors.UnsupportedReturnType.Id))
                {
                    Report(DiagnosticDescriptors.InvalidBatchedSignature, LocationInfo.From(_syntax.ReturnType), _methodName, $"returns '{_method.ReturnType.ToDisplayString(s_short)}'");
                    ok = false;
                }
                else
                {
                    ok = false;
                }
                return ok;
            }

            private string Signature(List<IParameterSymbol> parameters, ITypeSymbol? result, ReturnShape shape)
            {
                string parameterList = string.Join(", ", parameters.Select(parameter => $"{parameter.Type.ToDisplayString(s_short)} {parameter.Name}"));
                string resultText = shape switch
                {
                    ReturnShape.Void or ReturnShape.Task or ReturnShape.ValueTask => "void",
                    ReturnShape.AsyncEnumerable => _method.ReturnType.ToDisplayString(s_short),
                    _ => result?.ToDisplayString(s_short) ?? "?",
                };
                return $"{_methodName}({parameterList}) -> {resultText}";
            }

            private string? MethodCref()
            {
                var types = new List<string>();
                foreach (var parameter in _method.Parameters)
                {
                    if (CrefType(parameter.Type) is not { } type)
                    {
                        return null;
                    }
                    types.Add(type);
                }
                return $"{_method.ContainingType.ToDisplayString(s_crefName)}.{EscapeIdentifier(_methodName)}({string.Join(", ", types)})";
            }
        }
    }
}
