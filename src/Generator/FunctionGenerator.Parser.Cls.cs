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
        /// <summary>Names every generated instance type has, which a [Method]'s handle property cannot take.</summary>
        private static readonly HashSet<string> s_instanceMembers = new(StringComparer.Ordinal)
        {
            "Instance", "KeepWarmAsync", "UpdateAutoscalerAsync", "WithOptions", "WithConcurrency", "GetCurrentStatsAsync", "Reference",
            "Equals", "GetHashCode", "GetType", "MemberwiseClone", "ReferenceEquals", "ToString",
        };

        /// <summary>Turns a <c>[Cls]</c> class into an equatable model and its diagnostics; an exception becomes MODAL099.</summary>
        public static ClsParseResult ParseCls(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
            => Guarded(context, () => new ClsParser(context, cancellationToken).Parse(), failure => new ClsParseResult(null, failure));

        /// <summary>
        /// A <c>[Method]</c>, <c>[Enter]</c>, <c>[Exit]</c> or <c>[Parameter]</c> member outside a <c>[Cls]</c> class (MODAL048);
        /// inside one, its class's parser reads it.
        /// </summary>
        public static EquatableArray<DiagnosticInfo> CheckClsMember(GeneratorAttributeSyntaxContext context, string attributeName)
        {
            var type = context.TargetSymbol.ContainingType;
            if (type is null || type.GetAttributes().Any(attribute => attribute.AttributeClass?.ToDisplayString() == ClsAttributeName))
            {
                return EquatableArray<DiagnosticInfo>.Empty;
            }
            var location = context.TargetNode switch
            {
                MethodDeclarationSyntax method => LocationInfo.From(method.Identifier),
                PropertyDeclarationSyntax property => LocationInfo.From(property.Identifier),
                var node => LocationInfo.From(node),
            };
            return new[] { DiagnosticInfo.Create(DiagnosticDescriptors.ClsMemberOutsideCls, location, context.TargetSymbol.Name, attributeName, type.Name) }
                .ToEquatableArray();
        }

        /// <summary>A class with <c>[Retries]</c> but no <c>[Cls]</c> (MODAL053): its retries would apply to nothing.</summary>
        public static EquatableArray<DiagnosticInfo> CheckRetriesOnClass(GeneratorAttributeSyntaxContext context)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type
                || type.GetAttributes().Any(attribute => attribute.AttributeClass?.ToDisplayString() == ClsAttributeName))
            {
                return EquatableArray<DiagnosticInfo>.Empty;
            }
            var location = context.TargetNode is ClassDeclarationSyntax declaration ? LocationInfo.From(declaration.Identifier) : LocationInfo.From(context.TargetNode);
            return new[] { DiagnosticInfo.Create(DiagnosticDescriptors.RetriesOnClassWithoutCls, location, type.Name) }.ToEquatableArray();
        }

        /// <summary>Reads one <c>[Cls]</c> class: the class's rules, its options, parameters, lifecycle methods and methods.</summary>
        private sealed class ClsParser
        {
            private readonly GeneratorAttributeSyntaxContext _context;
            private readonly CancellationToken _cancellationToken;
            private readonly INamedTypeSymbol _type;
            private readonly ClassDeclarationSyntax _syntax;
            private readonly List<DiagnosticInfo> _diagnostics = new();
            private readonly string _name;

            public ClsParser(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
            {
                _context = context;
                _cancellationToken = cancellationToken;
                _type = (INamedTypeSymbol)context.TargetSymbol;
                _syntax = (ClassDeclarationSyntax)context.TargetNode;
                _name = _type.Name;
            }

            private LocationInfo? ClassLocation => LocationInfo.From(_syntax.Identifier);

            private void Report(DiagnosticDescriptor descriptor, LocationInfo? location, params object?[] arguments)
                => _diagnostics.Add(DiagnosticInfo.Create(descriptor, location ?? ClassLocation, arguments));

            public ClsParseResult Parse()
            {
                var containingTypes = ParseContainingTypes();
                if (_type.IsStatic || _type.IsAbstract)
                {
                    Report(DiagnosticDescriptors.ClsNotInstantiable, ClassLocation, _name, _type.IsStatic ? "static" : "abstract");
                }
                if (!_type.InstanceConstructors.Any(constructor => constructor.Parameters.IsEmpty))
                {
                    Report(DiagnosticDescriptors.ClsNoParameterlessConstructor, ClassLocation, _name);
                }
                if (!_type.GetMembers("Cls").IsEmpty)
                {
                    Report(DiagnosticDescriptors.ClsMemberExists, ClassLocation, _name);
                }

                var options = new OptionsParser(_name, ClassLocation, _diagnostics, _cancellationToken);
                var optionInitializers = options.ParseFunctionOptions(_context.Attributes[0], out string remoteName, out var nameLocation);
                if (FindAttribute(_type, "Modal.RetriesAttribute") is { } retries)
                {
                    optionInitializers.Add(options.ParseRetries(retries));
                }

                var parameters = ParseParameters();
                var enters = ParseLifecycle("Enter");
                var exits = ParseLifecycle("Exit");
                var methods = ParseMethods(remoteName);

                if (_diagnostics.Any(diagnostic => DiagnosticDescriptors.ById(diagnostic.Id).DefaultSeverity == DiagnosticSeverity.Error))
                {
                    return new ClsParseResult(null, _diagnostics.ToEquatableArray(), nameLocation);
                }
                string ns = _type.ContainingNamespace is { IsGlobalNamespace: false } containingNamespace ? containingNamespace.ToDisplayString() : "";
                var model = new ClsModel(
                    Namespace: ns,
                    ContainingTypes: containingTypes.ToEquatableArray(),
                    TypeFullName: _type.ToDisplayString(s_fullyQualified),
                    TypeCref: _type.ToDisplayString(s_crefName),
                    RemoteName: remoteName,
                    OptionInitializers: optionInitializers.ToEquatableArray(),
                    Parameters: parameters.ToEquatableArray(),
                    EnterMethods: enters.ToEquatableArray(),
                    ExitMethods: exits.ToEquatableArray(),
                    Methods: methods.ToEquatableArray(),
                    IsPublic: TypeAnalysis.IsEffectivelyPublic(_type) && methods.All(method => method.IsPublic),
                    ExperimentalDiagnosticIds: methods.SelectMany(method => method.ExperimentalDiagnosticIds).Distinct().OrderBy(id => id, StringComparer.Ordinal).ToEquatableArray());
                return new ClsParseResult(model, _diagnostics.ToEquatableArray(), nameLocation);
            }

            private static AttributeData? FindAttribute(ISymbol symbol, string name)
                => symbol.GetAttributes().FirstOrDefault(attribute => attribute.AttributeClass?.ToDisplayString() == name);

            /// <summary>The class and the types around it, outermost first: each partial, none generic, none private.</summary>
            private List<ContainingTypeModel> ParseContainingTypes()
            {
                var result = new List<ContainingTypeModel>();
                var declarations = _syntax.AncestorsAndSelf().OfType<TypeDeclarationSyntax>().GetEnumerator();
                for (var type = _type; type is not null; type = type.ContainingType)
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
                        InterfaceDeclarationSyntax => "interface",
                        _ => "class",
                    };
                    if (!declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                    {
                        Report(DiagnosticDescriptors.ClsNotPartial, identifier, type.Name, _name);
                    }
                    if (type.IsGenericType)
                    {
                        Report(DiagnosticDescriptors.ClsGeneric, LocationInfo.From(declaration.TypeParameterList) ?? identifier, type.Name, _name, declaration.TypeParameterList?.ToString());
                    }
                    string? inaccessible = type.IsFileLocal ? "file" : type.DeclaredAccessibility switch
                    {
                        Accessibility.Private => "private",
                        Accessibility.Protected => "protected",
                        Accessibility.ProtectedAndInternal => "private protected",
                        _ => null,
                    };
                    if (inaccessible is not null)
                    {
                        // The container entrypoint, in another namespace, creates the instance.
                        Report(DiagnosticDescriptors.ClsNotInstantiable, identifier, type.Name, inaccessible);
                    }
                    result.Insert(0, new ContainingTypeModel(keyword, EscapeIdentifier(type.Name)));
                }
                return result;
            }

            private List<ClsParameterModel> ParseParameters()
            {
                var required = new List<ClsParameterModel>();
                var optional = new List<ClsParameterModel>();
                var argumentOwners = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var property in _type.GetMembers().OfType<IPropertySymbol>())
                {
                    if (FindAttribute(property, "Modal.ParameterAttribute") is null)
                    {
                        continue;
                    }
                    var syntax = property.DeclaringSyntaxReferences.Select(reference => reference.GetSyntax(_cancellationToken)).OfType<PropertyDeclarationSyntax>().FirstOrDefault();
                    var location = LocationInfo.From(syntax?.Identifier ?? default) ?? ClassLocation;
                    if (property.IsStatic)
                    {
                        Report(DiagnosticDescriptors.ClsParameterNotSettable, location, property.Name, _name, "is static");
                    }
                    else if (property.SetMethod is null)
                    {
                        Report(DiagnosticDescriptors.ClsParameterNotSettable, location, property.Name, _name, "has no 'init' or 'set' accessor");
                    }
                    if (!IsParameterType(property.Type))
                    {
                        Report(DiagnosticDescriptors.ClsParameterType, LocationInfo.From(syntax?.Type) ?? location, property.Name, _name, property.Type.ToDisplayString(s_short));
                        continue;
                    }
                    string? defaultValue = null;
                    if (syntax?.Initializer is { } initializer)
                    {
                        var semanticModel = _context.SemanticModel.Compilation.GetSemanticModel(syntax.SyntaxTree);
                        var constant = semanticModel.GetConstantValue(initializer.Value, _cancellationToken);
                        if (constant.HasValue)
                        {
                            defaultValue = Literal(constant.Value);
                        }
                    }
                    string type = property.Type.WithNullableAnnotation(NullableAnnotation.None).ToDisplayString(s_fullyQualified);
                    if (property.Type.NullableAnnotation == NullableAnnotation.Annotated || defaultValue == "null")
                    {
                        type += "?";
                    }
                    string argument = CamelCase(property.Name);
                    if (argumentOwners.TryGetValue(argument, out var owner))
                    {
                        Report(DiagnosticDescriptors.ClsParameterArgumentClash, location, owner, property.Name, _name, argument);
                        continue;
                    }
                    argumentOwners[argument] = property.Name;
                    var model = new ClsParameterModel(EscapeIdentifier(property.Name), EscapeIdentifier(argument), type, defaultValue);
                    (defaultValue is null ? required : optional).Add(model);
                }
                // C# wants the optional arguments of Create last.
                return required.Concat(optional).ToList();
            }

            private static bool IsParameterType(ITypeSymbol type)
                => type.SpecialType is SpecialType.System_String or SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Boolean
                   || type is IArrayTypeSymbol { Rank: 1, ElementType.SpecialType: SpecialType.System_Byte };

            private static string CamelCase(string name)
                => name.Length > 0 && char.IsUpper(name[0]) ? char.ToLowerInvariant(name[0]) + name.Substring(1) : name;

            private List<ClsLifecycleMethod> ParseLifecycle(string kind)
            {
                var result = new List<ClsLifecycleMethod>();
                foreach (var method in _type.GetMembers().OfType<IMethodSymbol>())
                {
                    if (FindAttribute(method, "Modal." + kind + "Attribute") is null)
                    {
                        continue;
                    }
                    var syntax = method.DeclaringSyntaxReferences.Select(reference => reference.GetSyntax(_cancellationToken)).OfType<MethodDeclarationSyntax>().FirstOrDefault();
                    var location = LocationInfo.From(syntax?.Identifier ?? default) ?? ClassLocation;
                    bool takesToken = method.Parameters.Length == 1 && IsType(method.Parameters[0].Type, "System.Threading.CancellationToken")
                        && method.Parameters[0].RefKind == RefKind.None;
                    bool returnsTask = IsType(method.ReturnType, "System.Threading.Tasks.Task");
                    string? problem = method.IsStatic ? "is static"
                        : method.IsGenericMethod ? "declares type parameters"
                        : method.Parameters.Length > 0 && !takesToken
                            ? $"takes '{string.Join(", ", method.Parameters.Select(parameter => $"{parameter.Type.ToDisplayString(s_short)} {parameter.Name}"))}'"
                        : method.ReturnsVoid && method.IsAsync ? "is 'async void', so its end and its exception would be lost (return Task)"
                        : !method.ReturnsVoid && !returnsTask ? $"returns '{method.ReturnType.ToDisplayString(s_short)}'"
                        : null;
                    if (problem is not null)
                    {
                        Report(DiagnosticDescriptors.ClsLifecycleSignature, location, kind, method.Name, _name, problem);
                        continue;
                    }
                    result.Add(new ClsLifecycleMethod(EscapeIdentifier(method.Name), returnsTask, takesToken));
                }
                return result;
            }

            private List<FunctionModel> ParseMethods(string remoteName)
            {
                var methods = new List<FunctionModel>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var method in _type.GetMembers().OfType<IMethodSymbol>())
                {
                    if (FindAttribute(method, "Modal.MethodAttribute") is not { } attribute
                        || method.DeclaringSyntaxReferences.Select(reference => reference.GetSyntax(_cancellationToken)).OfType<MethodDeclarationSyntax>().FirstOrDefault() is not { } syntax)
                    {
                        continue;
                    }
                    var location = LocationInfo.From(syntax.Identifier);
                    if (!seen.Add(method.Name))
                    {
                        Report(DiagnosticDescriptors.ClsMethodNameNotUsable, location, method.Name, _name, "another [Method] has the same name, and overloads are not supported");
                        continue;
                    }
                    if (s_instanceMembers.Contains(method.Name))
                    {
                        Report(DiagnosticDescriptors.ClsMethodNameNotUsable, location, method.Name, _name, $"every instance handle already has a member '{method.Name}'");
                        continue;
                    }
                    var result = new MethodParser(method, syntax, attribute, _context.SemanticModel.Compilation, remoteName, _cancellationToken).Parse();
                    _diagnostics.AddRange(result.Diagnostics);
                    if (result.Function is not null)
                    {
                        methods.Add(result.Function);
                    }
                }
                methods.Sort((left, right) => string.CompareOrdinal(left.MethodName, right.MethodName));
                return methods;
            }
        }
    }
}
