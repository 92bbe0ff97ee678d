using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Modal.Generator.Model;

namespace Modal.Generator;

public sealed partial class FunctionGenerator
{
    /// <summary>Turns a <c>[Function]</c> method into an equatable model and its diagnostics.</summary>
    internal static class Parser
    {
        private static readonly SymbolDisplayFormat s_fullyQualified = SymbolDisplayFormat.FullyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        private static readonly SymbolDisplayFormat s_crefName = SymbolDisplayFormat.FullyQualifiedFormat
            .WithGenericsOptions(SymbolDisplayGenericsOptions.None)
            .WithMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.UseSpecialTypes | SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers | SymbolDisplayMiscellaneousOptions.ExpandNullable);

        private static readonly SymbolDisplayFormat s_short = SymbolDisplayFormat.MinimallyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        private static readonly Regex s_gpu = new("^[A-Za-z0-9][A-Za-z0-9-]*(:[1-9][0-9]*)?$", RegexOptions.CultureInvariant);

        public static FunctionParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            try
            {
                return new MethodParser(context, cancellationToken).Parse();
            }
            catch (OperationCanceledException)
            {
                throw;
            }
            catch (Exception exception)
            {
                var location = context.TargetNode is MethodDeclarationSyntax method ? LocationInfo.From(method.Identifier) : LocationInfo.From(context.TargetNode);
                return new FunctionParseResult(null, new[]
                {
                    DiagnosticInfo.Create(DiagnosticDescriptors.GeneratorFailed, location, $"{exception.GetType().Name}: {exception.Message} (while reading '{context.TargetSymbol.Name}')"),
                }.ToEquatableArray());
            }
        }

        /// <summary>
        /// Problems that need all functions at once: a remote name used twice, an overloaded method name, a method
        /// named like another function's handle class. Reported on the later function in <see cref="FunctionOrder"/>.
        /// </summary>
        public static EquatableArray<DiagnosticInfo> FindCrossFunctionProblems(ImmutableArray<FunctionParseResult> results)
        {
            var sorted = results
                .Where(result => result.Function is not null)
                .OrderBy(result => result.Function!, FunctionOrder.Instance)
                .ThenBy(result => result.MethodLocation?.FilePath ?? "", StringComparer.Ordinal)
                .ThenBy(result => result.MethodLocation?.TextSpan.Start ?? 0)
                .ToList();
            var diagnostics = new List<DiagnosticInfo>();
            foreach (var (index, problem, other) in Clashes(sorted.Select(result => result.Function!).ToList()))
            {
                var result = sorted[index];
                var function = result.Function!;
                diagnostics.Add(problem switch
                {
                    Clash.MethodName => DiagnosticInfo.Create(
                        DiagnosticDescriptors.DuplicateMethodName, result.MethodLocation, function.MethodName.TrimStart('@'), ShortTypeName(function)),
                    Clash.RemoteName => DiagnosticInfo.Create(
                        DiagnosticDescriptors.DuplicateName, result.NameLocation, function.RemoteName,
                        ShortTypeName(function) + "." + function.MethodName.TrimStart('@'),
                        ShortTypeName(other) + "." + other.MethodName.TrimStart('@')),
                    _ => DiagnosticInfo.Create(
                        DiagnosticDescriptors.HandleNameClash, result.MethodLocation, function.MethodName.TrimStart('@'), ShortTypeName(function),
                        other.MethodName.TrimStart('@'), other.HandleClassName),
                });
            }
            return diagnostics.ToEquatableArray();
        }

        /// <summary>The functions that the output emits: those that clash with no function before them.</summary>
        public static IEnumerable<FunctionModel> WithoutDuplicates(EquatableArray<FunctionModel> functions)
        {
            var list = functions.ToList();
            var dropped = new HashSet<int>(Clashes(list).Select(clash => clash.Index));
            return list.Where((_, index) => !dropped.Contains(index));
        }

        private enum Clash
        {
            MethodName,
            RemoteName,
            HandleName,
        }

        /// <summary>Each function that cannot be emitted next to the ones before it in <paramref name="functions"/>, and why.</summary>
        private static List<(int Index, Clash Problem, FunctionModel Other)> Clashes(List<FunctionModel> functions)
        {
            var clashes = new List<(int, Clash, FunctionModel)>();
            var byName = new Dictionary<string, FunctionModel>(StringComparer.Ordinal);
            var byMethod = new Dictionary<(string, string), FunctionModel>();
            var survivors = new List<int>();
            for (int i = 0; i < functions.Count; i++)
            {
                var function = functions[i];
                if (byMethod.TryGetValue((function.ContainingTypeFullName, function.MethodName), out var sameMethod))
                {
                    clashes.Add((i, Clash.MethodName, sameMethod));
                }
                else if (byName.TryGetValue(function.RemoteName, out var sameName))
                {
                    clashes.Add((i, Clash.RemoteName, sameName));
                }
                else
                {
                    byMethod.Add((function.ContainingTypeFullName, function.MethodName), function);
                    byName.Add(function.RemoteName, function);
                    survivors.Add(i);
                }
            }

            // Method 'FooFunction' would add the property 'Functions.FooFunction' next to method 'Foo''s handle class 'Functions.FooFunction'.
            var handleClasses = new Dictionary<(string, string), FunctionModel>();
            foreach (int i in survivors)
            {
                handleClasses[(functions[i].ContainingTypeFullName, functions[i].HandleClassName)] = functions[i];
            }
            foreach (int i in survivors)
            {
                var function = functions[i];
                if (handleClasses.TryGetValue((function.ContainingTypeFullName, function.MethodName.TrimStart('@')), out var owner))
                {
                    clashes.Add((i, Clash.HandleName, owner));
                }
            }
            clashes.Sort((left, right) => left.Item1.CompareTo(right.Item1));
            return clashes;
        }

        private static string ShortTypeName(FunctionModel function) => string.Join(".", function.ContainingTypes.Select(type => type.Name));

        private static string EscapeIdentifier(string name)
            => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

        private static bool IsType(ITypeSymbol type, string metadataName) => TypeAnalysis.IsType(type, metadataName);

        private sealed class MethodParser
        {
            private readonly GeneratorAttributeSyntaxContext _context;
            private readonly CancellationToken _cancellationToken;
            private readonly IMethodSymbol _method;
            private readonly MethodDeclarationSyntax _syntax;
            private readonly List<DiagnosticInfo> _diagnostics = new();
            private readonly string _methodName;

            public MethodParser(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
            {
                _context = context;
                _cancellationToken = cancellationToken;
                _method = (IMethodSymbol)context.TargetSymbol;
                _syntax = (MethodDeclarationSyntax)context.TargetNode;
                _methodName = _method.Name;
            }

            private LocationInfo? MethodLocation => LocationInfo.From(_syntax.Identifier);

            private void Report(DiagnosticDescriptor descriptor, LocationInfo? location, params object?[] arguments)
                => _diagnostics.Add(DiagnosticInfo.Create(descriptor, location ?? MethodLocation, arguments));

            public FunctionParseResult Parse()
            {
                if (!_method.IsStatic)
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

                var containingTypes = ParseContainingTypes();
                var attribute = _context.Attributes[0];
                var functionOptions = ParseFunctionOptions(attribute, out string remoteName, out var nameLocation);
                var retries = FindAttribute("Modal.RetriesAttribute");
                var batched = FindAttribute("Modal.BatchedAttribute");

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
                    options.Add(ParseRetries(retries));
                }
                if (batched is not null)
                {
                    options.Add(ParseBatched(batched));
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
                    HidesInheritedFunctions: HidesInheritedFunctions(),
                    ExperimentalDiagnosticIds: ExperimentalDiagnosticIds());
                return new FunctionParseResult(model, _diagnostics.ToEquatableArray(), MethodLocation, nameLocation);
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
                var compilation = _context.SemanticModel.Compilation;
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

            /// <summary>The named arguments the user set with a valid constant, each with its value and source location.</summary>
            private IEnumerable<(string Key, object? Value, LocationInfo? Location)> SetArguments(AttributeData attribute)
            {
                foreach (var argument in attribute.NamedArguments)
                {
                    if (argument.Value.Kind != TypedConstantKind.Error)
                    {
                        yield return (argument.Key, argument.Value.Value, ArgumentLocation(attribute, argument.Key));
                    }
                }
            }

            private List<string> ParseFunctionOptions(AttributeData attribute, out string remoteName, out LocationInfo? nameLocation)
            {
                var options = new List<string>();
                remoteName = _methodName;
                nameLocation = MethodLocation;
                int? minContainers = null;
                int? maxContainers = null;
                LocationInfo? minLocation = null;
                LocationInfo? maxLocation = null;
                foreach (var (key, value, location) in SetArguments(attribute))
                {
                    switch (key)
                    {
                        case "Name":
                            remoteName = value as string ?? "";
                            nameLocation = location;
                            if (!IsValidName(remoteName))
                            {
                                Report(DiagnosticDescriptors.InvalidName, location, remoteName, _methodName);
                            }
                            continue;
                        case "TimeoutSeconds":
                            CheckRange(key, value, 1, 86400, location);
                            break;
                        case "MinContainers":
                            minContainers = value as int?;
                            minLocation = location;
                            CheckRange(key, value, 0, int.MaxValue, location);
                            break;
                        case "MaxContainers":
                            maxContainers = value as int?;
                            maxLocation = location;
                            CheckRange(key, value, 0, int.MaxValue, location);
                            break;
                        case "BufferContainers":
                            CheckRange(key, value, 0, int.MaxValue, location);
                            break;
                        case "ScaledownWindowSeconds":
                            CheckRange(key, value, 1, int.MaxValue, location);
                            break;
                        case "MaxInputs":
                            CheckRange(key, value, 1, int.MaxValue, location);
                            break;
                        case "MemoryMb":
                            CheckRange(key, value, 1, int.MaxValue, location);
                            break;
                        case "Cpu":
                            if (value is double cpu && (!(cpu > 0) || double.IsInfinity(cpu)))
                            {
                                Report(DiagnosticDescriptors.OptionOutOfRange, location, key, _methodName, cpu.ToString("R", CultureInfo.InvariantCulture), "greater than 0");
                            }
                            break;
                        case "Gpu":
                            if (value is null)
                            {
                                continue;
                            }
                            if (value is string gpu && !s_gpu.IsMatch(gpu))
                            {
                                Report(DiagnosticDescriptors.InvalidGpu, location, _methodName, gpu);
                            }
                            break;
                        default:
                            continue;
                    }
                    options.Add($"{key} = {Literal(value)}");
                }
                if ((minContainers ?? 0) > (maxContainers ?? int.MaxValue) && (minContainers ?? 0) >= 0)
                {
                    Report(DiagnosticDescriptors.MinContainersAboveMax, minLocation ?? maxLocation, _methodName, minContainers ?? 0, maxContainers ?? int.MaxValue);
                }
                options.Sort(StringComparer.Ordinal);
                return options;
            }

            private string ParseRetries(AttributeData attribute)
            {
                string maxRetries = "0";
                string backoff = "global::Modal.RetryPolicy.DefaultBackoffCoefficient";
                string initialDelay = "global::Modal.RetryPolicy.DefaultInitialDelayMs";
                string maxDelay = "global::Modal.RetryPolicy.DefaultMaxDelayMs";
                foreach (var (key, value, location) in SetArguments(attribute))
                {
                    switch (key)
                    {
                        case "MaxRetries":
                            CheckRange(key, value, 0, 10, location);
                            maxRetries = Literal(value);
                            break;
                        case "BackoffCoefficient":
                            if (value is double coefficient && !(coefficient >= 1 && coefficient <= 10))
                            {
                                Report(DiagnosticDescriptors.OptionOutOfRange, location, key, _methodName, coefficient.ToString("R", CultureInfo.InvariantCulture), "between 1 and 10");
                            }
                            backoff = Literal(value);
                            break;
                        case "InitialDelayMs":
                            CheckRange(key, value, 0, 60000, location);
                            initialDelay = Literal(value);
                            break;
                        case "MaxDelayMs":
                            CheckRange(key, value, 1000, 60000, location);
                            maxDelay = Literal(value);
                            break;
                    }
                }
                return $"Retries = new global::Modal.RetryPolicy({maxRetries}, {backoff}, {initialDelay}, {maxDelay})";
            }

            private string ParseBatched(AttributeData attribute)
            {
                string maxBatchSize = "1";
                string waitMs = "0";
                foreach (var (key, value, location) in SetArguments(attribute))
                {
                    switch (key)
                    {
                        case "MaxBatchSize":
                            CheckRange(key, value, 1, 1000, location);
                            maxBatchSize = Literal(value);
                            break;
                        case "WaitMs":
                            CheckRange(key, value, 0, 600000, location);
                            waitMs = Literal(value);
                            break;
                    }
                }
                return $"Batch = new global::Modal.BatchOptions({maxBatchSize}, {waitMs})";
            }

            private void CheckRange(string option, object? value, int minimum, int maximum, LocationInfo? location)
            {
                if (value is int number && (number < minimum || number > maximum))
                {
                    string range = maximum == int.MaxValue
                        ? $"at least {minimum.ToString(CultureInfo.InvariantCulture)}"
                        : $"between {minimum.ToString(CultureInfo.InvariantCulture)} and {maximum.ToString(CultureInfo.InvariantCulture)}";
                    Report(DiagnosticDescriptors.OptionOutOfRange, location, option, _methodName, number, range);
                }
            }

            private LocationInfo? ArgumentLocation(AttributeData attribute, string name)
            {
                if (attribute.ApplicationSyntaxReference?.GetSyntax(_cancellationToken) is AttributeSyntax { ArgumentList: { } arguments } syntax)
                {
                    foreach (var argument in arguments.Arguments)
                    {
                        if (argument.NameEquals?.Name.Identifier.ValueText == name)
                        {
                            return LocationInfo.From(argument.Expression);
                        }
                    }
                    return LocationInfo.From(syntax);
                }
                return MethodLocation;
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

        private static bool IsValidName(string name)
            => name.Length > 0 && name.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or '.');

        /// <summary>A batched method's element parameter is named after its list: <c>xs</c> gives <c>x</c>.</summary>
        private static string ElementName(string listName)
        {
            if (listName.Length > 1 && listName.EndsWith("s", StringComparison.Ordinal))
            {
                string singular = listName.Substring(0, listName.Length - 1);
                if (SyntaxFacts.GetKeywordKind(singular) == SyntaxKind.None && singular != "cancellationToken")
                {
                    return singular;
                }
            }
            return "item";
        }

        /// <summary>A type in cref syntax (<c>List{int}</c>), or null where crefs cannot name it.</summary>
        private static string? CrefType(ITypeSymbol type)
        {
            switch (type)
            {
                case IArrayTypeSymbol array:
                    return CrefType(array.ElementType) is { } element ? element + "[" + new string(',', array.Rank - 1) + "]" : null;
                case INamedTypeSymbol named when !named.IsTupleType && named.TypeKind != TypeKind.Error:
                    if (named.ContainingType is { IsGenericType: true })
                    {
                        return null;
                    }
                    if (!named.IsGenericType)
                    {
                        return named.ToDisplayString(s_crefName);
                    }
                    var arguments = named.TypeArguments.Select(CrefType).ToList();
                    if (arguments.Any(argument => argument is null))
                    {
                        return null;
                    }
                    return named.ToDisplayString(s_crefName) + "{" + string.Join(", ", arguments) + "}";
                default:
                    return null;
            }
        }

        private static string Literal(object? value) => value switch
        {
            null => "null",
            string text => SymbolDisplay.FormatLiteral(text, quote: true),
            int number => number.ToString(CultureInfo.InvariantCulture),
            double number => FormatDouble(number),
            bool flag => flag ? "true" : "false",
            _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null",
        };

        private static string FormatDouble(double value)
        {
            string text = value.ToString("R", CultureInfo.InvariantCulture);
            return text.IndexOfAny(new[] { '.', 'E', 'N', 'I' }) >= 0 ? text : text + ".0";
        }
    }
}
