using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Modal.Generator.Model;

namespace Modal.Generator;

public sealed partial class FunctionGenerator
{
    internal static partial class Emitter
    {
        /// <summary>What the handle of a <c>[Method]</c> does differently from a function's: it runs on an instance.</summary>
        private sealed partial class HandleWriter
        {
            /// <summary>What the generated code calls the method on: the type for a function, the instance for a method.</summary>
            private string CallTarget => _function.ClsName is null ? _function.ContainingTypeFullName : Name("instance");

            /// <summary>The instance parameter that leads a method's Invoke methods; empty for a function.</summary>
            private string InstanceParameter => _function.ClsName is null ? "" : $"{_function.ContainingTypeFullName} {Name("instance")}, ";

            /// <summary>The method on this process's instance of the handle's parameter set (for Local and GetRawF).</summary>
            private string LocalInstanceMethod => $"{_function.ContainingTypeFullName}.Cls.LocalInstance(this.Reference).{_function.MethodName}";

            private void WriteMethodConstructor()
            {
                _writer.Line("/// <summary>Creates the handle of the method on the instance (class, app and parameter set) that <paramref name=\"reference\"/> names.</summary>");
                _writer.Line("/// <param name=\"reference\">The class's function, with the instance's parameter set as its variant.</param>");
                _writer.Line(Hidden);
                _writer.Line($"internal {_function.HandleClassName}(global::Modal.FunctionReference reference) : base(reference) {{ }}");
            }
        }

        /// <summary>The file of one <c>[Cls]</c> class: <c>Type.Cls</c> with Create, the instance type, the method handles and the container side.</summary>
        private static string EmitCls(ClsModel cls, string appName)
        {
            var writer = new IndentedWriter();
            Header(writer, cls.Methods);
            if (cls.Namespace.Length > 0)
            {
                writer.Open("namespace " + cls.Namespace);
            }
            foreach (var type in cls.ContainingTypes)
            {
                writer.Open($"partial {type.Keyword} {type.Name}");
            }
            new ClsWriter(writer, cls, appName).Write();
            foreach (var _ in cls.ContainingTypes)
            {
                writer.Close();
            }
            if (cls.Namespace.Length > 0)
            {
                writer.Close();
            }
            return writer.ToString();
        }

        /// <summary>The hint name of a class's file: <c>Namespace.Outer.Model.Cls.g.cs</c>.</summary>
        private static string ClsHintName(ClsModel cls)
            => string.Join(".", new[] { cls.Namespace.Replace("@", "") }.Concat(cls.ContainingTypes.Select(type => type.Name.TrimStart('@'))).Where(part => part.Length > 0))
               + ".Cls.g.cs";

        /// <summary>Writes <c>Type.Cls</c>.</summary>
        private sealed class ClsWriter
        {
            private readonly IndentedWriter _writer;
            private readonly ClsModel _cls;
            private readonly string _appName;
            private readonly string _access;
            private readonly string _self;

            public ClsWriter(IndentedWriter writer, ClsModel cls, string appName)
            {
                _writer = writer;
                _cls = cls;
                _appName = appName;
                _access = cls.IsPublic ? "public" : "internal";
                _self = cls.TypeFullName + ".Cls";
            }

            private string CreateParameters => string.Join(", ", _cls.Parameters.Select(parameter =>
                $"{parameter.Type} {parameter.ArgumentName}" + (parameter.DefaultValue is { } value ? " = " + value : "")));

            private string CreateArguments => string.Join(", ", _cls.Parameters.Select(parameter => parameter.ArgumentName));

            public void Write()
            {
                _writer.Line($"/// <summary>The Modal class <see cref=\"{_cls.TypeCref}\"/>: <c>Create</c> makes an instance handle for a set of parameters.</summary>");
                _writer.Line(s_generatedCode);
                _writer.Open($"{_access} static class Cls");
                WriteClassDefinition();
                WriteCreate();
                WriteParameterVariant();
                WriteDeployed();
                WriteInstance();
                foreach (var method in _cls.Methods)
                {
                    _writer.Line();
                    new HandleWriter(_writer, method, _appName).Write();
                }
                WriteContainerSide();
                _writer.Close();
            }

            private void WriteClassDefinition()
            {
                _writer.Line("/// <summary>The class's remote function, options and method signatures.</summary>");
                _writer.Line(Hidden);
                // Every input is [methodName, [arguments...]], and every method may have a result.
                WriteDefinition(_writer, _appName, _cls.RemoteName, "global::Modal.FunctionKind.Unary", _cls.OptionInitializers,
                    $"{Literal(_cls.Signature)}, hasResult: true, parameterCount: global::Modal.ClsCodec.EnvelopeLength);");
            }

            private void WriteCreate()
            {
                _writer.Line("/// <summary>An instance handle of the class with these parameters, in the running app; each parameter set runs in a container pool of its own.</summary>");
                _writer.Line($"{_access} static Instance Create({CreateParameters})");
                _writer.Line($"    => new Instance(new global::Modal.FunctionReference(null, {Literal(_cls.RemoteName)}, {_self}.Definition).WithVariant({_self}.ParameterSet({CreateArguments})));");
                _writer.Line();
                _writer.Line("/// <summary>The class as deployed in another app: call <c>Create</c> on the result.</summary>");
                _writer.Line("/// <param name=\"appName\">The deployed app's name.</param>");
                _writer.Open($"{_access} static Deployed WithApp(string appName)");
                _writer.Line("global::System.ArgumentException.ThrowIfNullOrWhiteSpace(appName);");
                _writer.Line("return new Deployed(appName);");
                _writer.Close();
            }

            private void WriteParameterVariant()
            {
                _writer.Line();
                _writer.Line("/// <summary>The parameter set, by property name in name order, as the variant of the class's function that runs it.</summary>");
                _writer.Line(Hidden);
                _writer.Open($"internal static global::Modal.FunctionVariant ParameterSet({string.Join(", ", _cls.Parameters.Select(parameter => $"{parameter.Type} {parameter.ArgumentName}"))})");
                var sorted = _cls.Parameters.OrderBy(parameter => parameter.PropertyName.TrimStart('@'), StringComparer.Ordinal).ToList();
                var chain = new System.Text.StringBuilder($"return global::Modal.ClsCodec.StartParameters({Literal(_cls.RemoteName)}, {sorted.Count.ToString(CultureInfo.InvariantCulture)})");
                foreach (var parameter in sorted)
                {
                    chain.Append($".Add<{parameter.Type}>({Literal(parameter.PropertyName.TrimStart('@'))}, {parameter.ArgumentName})");
                }
                _writer.Line(chain + ".ToVariant();");
                _writer.Close();
            }

            private void WriteDeployed()
            {
                _writer.Line();
                _writer.Line("/// <summary>The class in another deployed app (<c>WithApp</c>).</summary>");
                _writer.Open($"{_access} sealed class Deployed");
                _writer.Line("private readonly string _appName;");
                _writer.Line();
                _writer.Line("internal Deployed(string appName) => _appName = appName;");
                _writer.Line();
                _writer.Line("/// <summary>An instance handle of the deployed class with these parameters.</summary>");
                _writer.Line($"public Instance Create({CreateParameters})");
                _writer.Line($"    => new Instance(new global::Modal.FunctionReference(_appName, {Literal(_cls.RemoteName)}, {_self}.Definition).WithVariant({_self}.ParameterSet({CreateArguments})));");
                _writer.Close();
            }

            private void WriteInstance()
            {
                const string Token = "global::System.Threading.CancellationToken cancellationToken = default";
                _writer.Line();
                _writer.Line("/// <summary>An instance of the class for one parameter set: a typed handle per [Method], and the pool's controls.</summary>");
                _writer.Open($"{_access} sealed class Instance");
                _writer.Line("/// <summary>Creates the handles of the instance that <paramref name=\"reference\"/> names.</summary>");
                _writer.Line("/// <param name=\"reference\">The class's function, with the parameter set (and any options) as its variant.</param>");
                _writer.Open("internal Instance(global::Modal.FunctionReference reference)");
                _writer.Line("this.Reference = reference;");
                foreach (var method in _cls.Methods)
                {
                    _writer.Line($"this.{method.PropertyName} = new {method.HandleClassName}(reference);");
                }
                _writer.Close();
                _writer.Line();
                _writer.Line("/// <summary>The class's function and this instance's variant.</summary>");
                _writer.Line(Hidden);
                _writer.Line("public global::Modal.FunctionReference Reference { get; }");
                foreach (var method in _cls.Methods)
                {
                    _writer.Line();
                    _writer.Line($"/// <summary>Calls {MethodReference(method)} on this instance remotely.</summary>");
                    _writer.Line($"{(method.IsPublic ? "public" : "internal")} {method.HandleClassName} {method.PropertyName} {{ get; }}");
                }
                _writer.Line();
                _writer.Line("/// <summary>Keeps <paramref name=\"warmPoolSize\"/> containers of this parameter set running even when idle (Modal's <c>keep_warm</c>).</summary>");
                _writer.Open($"public global::System.Threading.Tasks.Task KeepWarmAsync(int warmPoolSize, {Token})");
                _writer.Line("global::System.ArgumentOutOfRangeException.ThrowIfNegative(warmPoolSize);");
                _writer.Line("return global::Modal.ModalBackend.Current.KeepWarmAsync(this.Reference, warmPoolSize, cancellationToken);");
                _writer.Close();
                _writer.Line();
                _writer.Line("/// <summary>The backlog and runner count of this parameter set's pool (Modal's <c>get_current_stats</c>).</summary>");
                _writer.Line($"public global::System.Threading.Tasks.Task<global::Modal.FunctionStats> GetCurrentStatsAsync({Token})");
                _writer.Line("    => global::Modal.ModalBackend.Current.GetCurrentStatsAsync(this.Reference, cancellationToken);");
                _writer.Line();
                _writer.Line("/// <summary>Changes the autoscaler of this parameter set's pool (Modal's <c>update_autoscaler</c>); a null argument keeps the current value.</summary>");
                _writer.Line("public global::System.Threading.Tasks.Task UpdateAutoscalerAsync(int? minContainers = null, int? maxContainers = null, int? bufferContainers = null, " +
                    $"int? scaledownWindowSeconds = null, {Token})");
                // Every method handle reaches the same pool; the first one's checks the arguments as a function handle does.
                _writer.Line(_cls.Methods.Count > 0
                    ? $"    => this.{_cls.Methods[0].PropertyName}.UpdateAutoscalerAsync(minContainers, maxContainers, bufferContainers, scaledownWindowSeconds, cancellationToken);"
                    : "    => global::Modal.ModalBackend.Current.UpdateAutoscalerAsync(this.Reference, minContainers, maxContainers, bufferContainers, scaledownWindowSeconds, cancellationToken);");
                _writer.Line();
                _writer.Line("/// <summary>This instance with other options, in a container pool of its own (Modal's <c>with_options</c>); a null argument keeps the declared value.</summary>");
                _writer.Line("public Instance WithOptions(int? timeoutSeconds = null, global::Modal.RetryPolicy? retries = null, int? minContainers = null, int? maxContainers = null, " +
                    "int? bufferContainers = null, int? scaledownWindowSeconds = null, double? cpu = null, int? memoryMb = null, string? gpu = null, " +
                    "global::System.Collections.Generic.IReadOnlyDictionary<string, string>? environment = null)");
                _writer.Line("    => new Instance(this.Reference.WithVariant((this.Reference.Variant ?? global::Modal.FunctionVariant.None).WithOptions(this.Reference.DeclaredOptions, " +
                    "timeoutSeconds, retries, minContainers, maxContainers, bufferContainers, scaledownWindowSeconds, cpu, memoryMb, gpu, environment)));");
                _writer.Line();
                _writer.Line("/// <summary>This instance running up to <paramref name=\"maxInputs\"/> inputs per container at once, in a container pool of its own (Modal's <c>with_concurrency</c>).</summary>");
                _writer.Line("/// <param name=\"maxInputs\">Inputs one container runs at once.</param>");
                _writer.Line("/// <param name=\"targetInputs\">Inputs per container the autoscaler aims for; at most <paramref name=\"maxInputs\"/>.</param>");
                _writer.Line("public Instance WithConcurrency(int maxInputs, int? targetInputs = null)");
                _writer.Line("    => new Instance(this.Reference.WithVariant((this.Reference.Variant ?? global::Modal.FunctionVariant.None).WithConcurrency(maxInputs, targetInputs)));");
                _writer.Line();
                _writer.Line("/// <inheritdoc />");
                _writer.Line($"public override string ToString() => \"Cls \" + {Literal(_cls.RemoteName)} + \"(\" + (this.Reference.Variant?.ParametersText ?? \"\") + \")\";");
                _writer.Close();
            }

            private void WriteContainerSide()
            {
                string memory = "global::System.ReadOnlyMemory<byte>";
                string token = "global::System.Threading.CancellationToken";
                _writer.Line();
                _writer.Line("/// <summary>Creates the instances that containers (and the in-process mode) serve.</summary>");
                _writer.Line(Hidden);
                _writer.Line($"internal static readonly global::Modal.IClsEntrypoint Entrypoint = new ClsEntrypoint();");
                _writer.Line();
                _writer.Line(Hidden);
                _writer.Line("private static readonly global::System.Collections.Concurrent.ConcurrentDictionary<string, global::System.Lazy<" + _cls.TypeFullName + ">> s_localInstances = new();");
                _writer.Line();
                _writer.Line("/// <summary>This process's instance of a parameter set, created and entered on first use, for <c>Local</c> and <c>GetRawF</c>.</summary>");
                _writer.Line(Hidden);
                _writer.Line($"internal static {_cls.TypeFullName} LocalInstance(global::Modal.FunctionReference reference)");
                _writer.Line($"    => {_self}.s_localInstances.GetOrAdd(reference.Variant?.Parameters ?? \"\", static (_, parameters) => new global::System.Lazy<{_cls.TypeFullName}>(() =>");
                _writer.Line("    {");
                _writer.Line($"        var created = {_self}.CreateObject(parameters);");
                _writer.Line($"        // Local runs synchronously, as a plain method call does: the [Enter] methods are waited for once, here.");
                _writer.Line($"        new Container(created).EnterAsync(global::System.Threading.CancellationToken.None).GetAwaiter().GetResult();");
                _writer.Line("        return created;");
                _writer.Line("    }), reference.Variant?.ParameterPayload ?? default).Value;");
                _writer.Line();
                WriteCreateObject(memory);
                _writer.Line();
                _writer.Line(Hidden);
                _writer.Open("private sealed class ClsEntrypoint : global::Modal.IClsEntrypoint");
                _writer.Line($"public global::Modal.FunctionDefinition Definition => {_self}.Definition;");
                _writer.Line();
                _writer.Line($"public global::Modal.IClsInstance CreateInstance({memory} parameters) => new Container({_self}.CreateObject(parameters));");
                _writer.Close();
                _writer.Line();
                _writer.Line(Hidden);
                _writer.Open("private sealed class Container : global::Modal.IClsInstance");
                _writer.Line($"private readonly {_cls.TypeFullName} _instance;");
                _writer.Line();
                _writer.Line($"public Container({_cls.TypeFullName} instance) => _instance = instance;");
                _writer.Line();
                WriteLifecycle("EnterAsync", _cls.EnterMethods, token);
                _writer.Line();
                WriteLifecycle("ExitAsync", _cls.ExitMethods, token);
                _writer.Line();
                WriteMethodSwitch($"public global::System.Threading.Tasks.ValueTask<{memory}> InvokeAsync({memory} arguments, {token} cancellationToken)",
                    generator: false);
                _writer.Line();
                WriteMethodSwitch($"public global::System.Collections.Generic.IAsyncEnumerable<{memory}> InvokeGeneratorAsync({memory} arguments, {token} cancellationToken)",
                    generator: true);
                _writer.Close();
            }

            private void WriteCreateObject(string memory)
            {
                var parameters = _cls.Parameters.ToList();
                _writer.Line(Hidden);
                _writer.Open($"private static {_cls.TypeFullName} CreateObject({memory} parameters)");
                if (parameters.Count == 0)
                {
                    _writer.Line($"return new {_cls.TypeFullName}();");
                    _writer.Close();
                    return;
                }
                string count = parameters.Count.ToString(CultureInfo.InvariantCulture);
                _writer.Line("var reader = new global::MessagePack.MessagePackReader(parameters);");
                _writer.Line($"global::Modal.ClsCodec.ReadParametersHeader(ref reader, {_self}.Definition, {count});");
                for (int i = 0; i < parameters.Count; i++)
                {
                    _writer.Line($"{parameters[i].Type} value{i} = default!;");
                    _writer.Line($"bool seen{i} = false;");
                }
                _writer.Open($"for (int index = 0; index < {count}; index++)");
                _writer.Line($"string name = global::Modal.ClsCodec.ReadParameterName(ref reader, {_self}.Definition);");
                _writer.Open("switch (name)");
                for (int i = 0; i < parameters.Count; i++)
                {
                    string name = Literal(parameters[i].PropertyName.TrimStart('@'));
                    _writer.Line($"case {name} when !seen{i}:");
                    _writer.Line($"    value{i} = global::Modal.ModalSerializer.DeserializeArgument<{parameters[i].Type}>(ref reader, {_self}.Definition, {name});");
                    _writer.Line($"    seen{i} = true;");
                    _writer.Line("    break;");
                }
                _writer.Line("default:");
                _writer.Line($"    throw global::Modal.ClsCodec.UnknownParameter({_self}.Definition, name);");
                _writer.Close();
                _writer.Close();
                _writer.Line($"return new {_cls.TypeFullName}");
                _writer.Line("{");
                _writer.Indent();
                for (int i = 0; i < parameters.Count; i++)
                {
                    _writer.Line($"{parameters[i].PropertyName} = value{i},");
                }
                _writer.Unindent();
                _writer.Line("};");
                _writer.Close();
            }

            private void WriteLifecycle(string name, EquatableArray<ClsLifecycleMethod> methods, string token)
            {
                bool isAsync = methods.Any(method => method.IsAsync);
                _writer.Open($"public {(isAsync ? "async " : "")}global::System.Threading.Tasks.Task {name}({token} cancellationToken)");
                foreach (var method in methods)
                {
                    string call = $"_instance.{method.Name}({(method.TakesToken ? "cancellationToken" : "")})";
                    _writer.Line(method.IsAsync ? $"await {call}.ConfigureAwait(false);" : call + ";");
                }
                if (!isAsync)
                {
                    _writer.Line("return global::System.Threading.Tasks.Task.CompletedTask;");
                }
                _writer.Close();
            }

            private void WriteMethodSwitch(string signature, bool generator)
            {
                _writer.Open(signature);
                _writer.Line($"string method = global::Modal.ClsCodec.ReadMethodName(arguments, {_self}.Definition, out var methodArguments);");
                _writer.Line("return method switch");
                _writer.Open();
                foreach (var method in _cls.Methods)
                {
                    bool isGenerator = method.Kind == FunctionShape.Generator;
                    string name = Literal(method.MethodName.TrimStart('@'));
                    _writer.Line(isGenerator == generator
                        ? $"{name} => {HandlePath(method)}.{(generator ? "InvokeGeneratorAsync" : "InvokeAsync")}(_instance, methodArguments, cancellationToken),"
                        : $"{name} => throw global::Modal.ClsCodec.WrongMethodKind({_self}.Definition, method, isGenerator: {(isGenerator ? "true" : "false")}),");
                }
                _writer.Line($"_ => throw global::Modal.ClsCodec.UnknownMethod({_self}.Definition, method),");
                _writer.Close(";");
                _writer.Close();
            }
        }
    }
}
