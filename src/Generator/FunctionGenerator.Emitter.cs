using System.Globalization;
using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using Modal.Generator.Model;

namespace Modal.Generator;

public sealed partial class FunctionGenerator
{
    /// <summary>Writes the handle files and the entrypoint from the model alone.</summary>
    internal static partial class Emitter
    {
        private const string Memory = "global::System.ReadOnlyMemory<byte>";
        private const string CancellationToken = "global::System.Threading.CancellationToken";
        private const string Task = "global::System.Threading.Tasks.Task";
        private const string ValueTask = "global::System.Threading.Tasks.ValueTask";
        private const string Enumerable = "global::System.Collections.Generic.IEnumerable";
        private const string AsyncEnumerable = "global::System.Collections.Generic.IAsyncEnumerable";
        private const string Serializer = "global::Modal.ModalSerializer";
        private const string Hidden = "[global::System.ComponentModel.EditorBrowsable(global::System.ComponentModel.EditorBrowsableState.Never)]";

        internal static readonly string Version = typeof(FunctionGenerator).Assembly.GetName().Version?.ToString() ?? "1.0.0.0";

        /// <summary>The members every class inherits from object: a handle property of that name hides one.</summary>
        private static readonly HashSet<string> s_objectMembers = new(StringComparer.Ordinal)
        {
            "Equals", "GetHashCode", "GetType", "MemberwiseClone", "ReferenceEquals", "ToString",
        };

        private static readonly string s_generatedCode = $"[global::System.CodeDom.Compiler.GeneratedCode(\"Modal.Generator\", \"{Version}\")]";

        public static void Emit(SourceProductionContext context, GenerationModel model)
            => Emit(model, EmitAll, context.AddSource, context.ReportDiagnostic, context.CancellationToken);

        /// <summary>Adds every file that <paramref name="emitAll"/> writes; an exception becomes MODAL099, never a silent CS8785.</summary>
        internal static void Emit(
            GenerationModel model,
            Func<GenerationModel, List<(string HintName, string Source)>> emitAll,
            Action<string, SourceText> addSource,
            Action<Diagnostic> reportDiagnostic,
            System.Threading.CancellationToken cancellationToken)
        {
            try
            {
                foreach (var (hintName, source) in emitAll(model))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    addSource(hintName, SourceText.From(source, System.Text.Encoding.UTF8));
                }
            }
            catch (OperationCanceledException)
            {
                throw;
            }
            catch (Exception exception)
            {
                reportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.GeneratorFailed, Location.None, $"{exception.GetType().Name}: {exception.Message} (while writing the generated code)"));
            }
        }

        /// <summary>Every generated file as (hint name, text), sorted by hint name.</summary>
        public static List<(string HintName, string Source)> EmitAll(GenerationModel model)
        {
            var files = new List<(string, string)>();
            var functions = Clashes.WithoutDuplicates(model.Functions).ToList();
            var classes = Clashes.ClassesWithoutDuplicates(model.Functions, model.Classes).ToList();
            if (functions.Count == 0 && classes.Count == 0)
            {
                return files;
            }
            string appName = model.Compilation.DefaultAppName;
            var usedHintNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var group in functions.GroupBy(function => function.ContainingTypeFullName).OrderBy(group => group.Key, StringComparer.Ordinal))
            {
                var first = group.First();
                // Hint names allow no '@': 'namespace @class.Foo' and 'partial class @event' are written without it.
                string baseName = string.Join(".", new[] { first.Namespace.Replace("@", "") }.Concat(first.ContainingTypes.Select(type => type.Name.TrimStart('@'))).Where(part => part.Length > 0));
                string hintName = baseName + ".Functions.g.cs";
                for (int suffix = 2; !usedHintNames.Add(hintName); suffix++)
                {
                    hintName = baseName + ".Functions" + suffix.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".g.cs";
                }
                files.Add((hintName, EmitType(group.OrderBy(function => function.MethodName, StringComparer.OrdinalIgnoreCase).ThenBy(function => function.MethodName, StringComparer.Ordinal).ToList(), appName)));
            }
            foreach (var cls in classes)
            {
                string hintName = ClsHintName(cls);
                for (int suffix = 2; !usedHintNames.Add(hintName); suffix++)
                {
                    hintName = ClsHintName(cls).Replace(".Cls.g.cs", ".Cls" + suffix.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".g.cs");
                }
                files.Add((hintName, EmitCls(cls, appName)));
            }
            files.Add(("Modal.Generated.ModalEntrypoint.g.cs", EmitEntrypoint(functions, classes, appName)));
            files.Sort((left, right) => string.CompareOrdinal(left.Item1, right.Item1));
            return files;
        }

        private static void Header(IndentedWriter writer, IEnumerable<FunctionModel> functions)
        {
            writer.Line("// <auto-generated/>");
            writer.Line("#nullable enable");
            // The functions may use [Obsolete] or [Experimental] APIs; the user's own declarations already report that.
            writer.Line("#pragma warning disable CS0612, CS0618");
            var experimental = functions.SelectMany(function => function.ExperimentalDiagnosticIds).Distinct().OrderBy(id => id, StringComparer.Ordinal).ToList();
            if (experimental.Count > 0)
            {
                writer.Line("#pragma warning disable " + string.Join(", ", experimental));
            }
            writer.Line();
        }

        private static string EmitType(List<FunctionModel> functions, string appName)
        {
            var writer = new IndentedWriter();
            Header(writer, functions);
            var first = functions[0];
            if (first.Namespace.Length > 0)
            {
                writer.Open("namespace " + first.Namespace);
            }
            foreach (var type in first.ContainingTypes)
            {
                writer.Open($"partial {type.Keyword} {type.Name}");
            }

            writer.Line($"/// <summary>Typed handles of the Modal functions declared in <see cref=\"{first.ContainingTypeCref}\"/>.</summary>");
            writer.Line(s_generatedCode);
            // A base type's own 'Functions' is hidden on purpose: each type's handles are its own.
            writer.Open(functions.Any(function => function.HidesInheritedFunctions) ? "public new static class Functions" : "public static class Functions");
            foreach (var function in functions)
            {
                string access = function.IsPublic ? "public" : "internal";
                writer.Line($"/// <summary>Calls {MethodReference(function)} remotely.</summary>");
                string hides = s_objectMembers.Contains(function.PropertyName) ? "new " : "";
                writer.Line($"{access} {hides}static {function.HandleClassName} {function.PropertyName} {{ get; }} = new {function.HandleClassName}(appName: null);");
                writer.Line();
            }
            for (int i = 0; i < functions.Count; i++)
            {
                if (i > 0)
                {
                    writer.Line();
                }
                new HandleWriter(writer, functions[i], appName).Write();
            }
            writer.Close();

            foreach (var _ in first.ContainingTypes)
            {
                writer.Close();
            }
            if (first.Namespace.Length > 0)
            {
                writer.Close();
            }
            return writer.ToString();
        }

        private static string MethodReference(FunctionModel function)
            => function.MethodCref is { } cref
                ? $"<see cref=\"{cref}\"/>"
                : $"<c>{string.Join(".", function.ContainingTypes.Select(type => type.Name.TrimStart('@')))}.{function.MethodName.TrimStart('@')}</c>";

        private static string Kind(FunctionModel function) => "global::Modal.FunctionKind." + function.Kind;

        private static string HandlePath(FunctionModel function)
            => $"{function.ContainingTypeFullName}.{(function.ClsName is null ? "Functions" : "Cls")}.{function.HandleClassName}";

        private static string EmitEntrypoint(List<FunctionModel> functions, List<ClsModel> classes, string appName)
        {
            var sorted = functions.OrderBy(function => function.RemoteName, StringComparer.OrdinalIgnoreCase).ThenBy(function => function.RemoteName, StringComparer.Ordinal).ToList();
            var writer = new IndentedWriter();
            Header(writer, functions.Concat(classes.SelectMany(cls => cls.Methods)));
            writer.Open("namespace Modal.Generated");
            writer.Line("/// <summary>Runs this assembly's Modal functions in a container: a switch from function name to the static method.</summary>");
            writer.Line(s_generatedCode);
            writer.Line(Hidden);
            writer.Open("internal sealed class ModalEntrypoint : global::Modal.IFunctionEntrypoint");
            writer.Line("public static readonly ModalEntrypoint Instance = new ModalEntrypoint();");
            writer.Line();
            writer.Line("[global::System.Runtime.CompilerServices.ModuleInitializer]");
            writer.Line("internal static void Register() => global::Modal.FunctionEntrypoints.Register(Instance);");
            writer.Line();
            writer.Line($"public string DefaultAppName => {Literal(appName)};");
            writer.Line();
            writer.Line("public global::System.Collections.Generic.IReadOnlyList<global::Modal.FunctionDefinition> Functions { get; } = new global::Modal.FunctionDefinition[]");
            writer.Open();
            var definitions = sorted.Select(function => (function.RemoteName, Path: HandlePath(function)))
                .Concat(classes.Select(cls => (cls.RemoteName, Path: cls.TypeFullName + ".Cls")))
                .OrderBy(entry => entry.RemoteName, StringComparer.OrdinalIgnoreCase).ThenBy(entry => entry.RemoteName, StringComparer.Ordinal);
            foreach (var (_, path) in definitions)
            {
                writer.Line($"{path}.Definition,");
            }
            writer.Close(";");
            writer.Line();

            writer.Line($"public {ValueTask}<{Memory}> InvokeAsync(string functionName, {Memory} arguments, {CancellationToken} cancellationToken)");
            Switch(writer, sorted.Where(function => function.Kind == FunctionShape.Unary), "InvokeAsync");
            writer.Line();
            writer.Line($"public {AsyncEnumerable}<{Memory}> InvokeGeneratorAsync(string functionName, {Memory} arguments, {CancellationToken} cancellationToken)");
            Switch(writer, sorted.Where(function => function.Kind == FunctionShape.Generator), "InvokeGeneratorAsync");
            writer.Line();
            writer.Line($"public {ValueTask}<global::System.Collections.Generic.IReadOnlyList<{Memory}>> InvokeBatchAsync(string functionName, global::System.Collections.Generic.IReadOnlyList<{Memory}> arguments, {CancellationToken} cancellationToken)");
            Switch(writer, sorted.Where(function => function.Kind == FunctionShape.Batched), "InvokeBatchAsync");
            if (classes.Count > 0)
            {
                writer.Line();
                writer.Line("public global::Modal.IClsEntrypoint? FindCls(string functionName)");
                writer.Indent();
                writer.Line("=> functionName switch");
                writer.Open();
                foreach (var cls in classes.OrderBy(cls => cls.RemoteName, StringComparer.Ordinal))
                {
                    writer.Line($"{Literal(cls.RemoteName)} => {cls.TypeFullName}.Cls.Entrypoint,");
                }
                writer.Line("_ => null,");
                writer.Close(";");
                writer.Unindent();
            }
            writer.Close();
            writer.Close();
            return writer.ToString();
        }

        private static void Switch(IndentedWriter writer, IEnumerable<FunctionModel> functions, string method)
        {
            const string unknown = "throw global::Modal.ModalSerializer.UnknownFunction(this, functionName)";
            var cases = functions.ToList();
            writer.Indent();
            if (cases.Count == 0)
            {
                writer.Line($"=> {unknown};");
            }
            else
            {
                writer.Line("=> functionName switch");
                writer.Open();
                foreach (var function in cases)
                {
                    writer.Line($"{Literal(function.RemoteName)} => {HandlePath(function)}.{method}(arguments, cancellationToken),");
                }
                writer.Line($"_ => {unknown},");
                writer.Close(";");
            }
            writer.Unindent();
        }

        private static string Literal(string value) => SymbolDisplay.FormatLiteral(value, quote: true);

        /// <summary>
        /// The static <c>Definition</c> field: app, name, kind, the option initializers, then <paramref name="tail"/> (the
        /// signature and the remaining arguments, with the closing parenthesis).
        /// </summary>
        private static void WriteDefinition(IndentedWriter writer, string appName, string remoteName, string kind, EquatableArray<string> options, string tail)
        {
            writer.Line("public static readonly global::Modal.FunctionDefinition Definition = new global::Modal.FunctionDefinition(");
            writer.Indent();
            writer.Line($"{Literal(appName)}, {Literal(remoteName)}, {kind},");
            if (options.Count == 0)
            {
                writer.Line("new global::Modal.FunctionOptions(),");
            }
            else
            {
                writer.Line("new global::Modal.FunctionOptions");
                writer.Line("{");
                writer.Indent();
                foreach (var option in options)
                {
                    writer.Line(option + ",");
                }
                writer.Unindent();
                writer.Line("},");
            }
            writer.Line(tail);
            writer.Unindent();
            writer.Line();
        }

        private static string Escape(string name) => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

        /// <summary>Writes one handle class.</summary>
        private sealed partial class HandleWriter
        {
            private readonly IndentedWriter _writer;
            private readonly FunctionModel _function;
            private readonly string _appName;
            private readonly HashSet<string> _userNames;
            private readonly string _resultType;

            /// <summary>
            /// The handle class, fully qualified. Its static members are always called through it (and instance members
            /// through 'this'), because a parameter named 'Definition' or 'EncodeArguments' would hide the simple name.
            /// </summary>
            private readonly string _self;

            public HandleWriter(IndentedWriter writer, FunctionModel function, string appName)
            {
                _writer = writer;
                _function = function;
                _appName = appName;
                _userNames = new HashSet<string>(
                    function.Parameters.SelectMany(parameter => new[] { parameter.Name.TrimStart('@'), SequenceName(parameter).TrimStart('@') }),
                    StringComparer.Ordinal);
                _resultType = function.ResultType ?? "";
                _self = HandlePath(function);
            }

            /// <summary>A generated name that does not collide with the function's parameter names or their sequence names ('xs').</summary>
            private string Name(string name)
            {
                while (_userNames.Contains(name))
                {
                    name += "_";
                }
                return name;
            }

            private IEnumerable<ParameterModel> Parameters => _function.Parameters;

            private int Count => _function.Parameters.Count;

            private string ParameterList => string.Join(", ", Parameters.Select(parameter => $"{parameter.Type} {parameter.Name}"));

            private string ArgumentList => string.Join(", ", Parameters.Select(parameter => parameter.Name));

            private string WithToken(string list, string token) => list.Length == 0 ? token : list + ", " + token;

            private string TokenParameter => $"{CancellationToken} {Name("cancellationToken")} = default";

            private string TupleType => "(" + string.Join(", ", Parameters.Select(parameter => parameter.Type)) + ")";

            /// <summary>The type a map's inputs have: the parameter's for one parameter, a tuple for more.</summary>
            private string InputType => Count == 1 ? _function.Parameters[0].Type : TupleType;

            private string Encoder => Count == 1
                ? $"{_self}.EncodeArguments"
                : $"static {Name("input")} => {_self}.EncodeArguments({string.Join(", ", System.Linq.Enumerable.Range(1, Count).Select(i => $"{Name("input")}.Item{i}"))})";

            private string Decoder => $"{_self}.DecodeResult";

            private static string SequenceName(ParameterModel parameter) => Escape(parameter.Name.TrimStart('@') + "s");

            public void Write()
            {
                var function = _function;
                string access = function.IsPublic ? "public" : "internal";
                string ct = Name("cancellationToken");
                _writer.Line($"/// <summary>Typed handle of {MethodReference(function)}.</summary>");
                _writer.Open($"{access} sealed class {function.HandleClassName} : global::Modal.Function");

                _writer.Line("/// <summary>The function's remote name, kind, options and signature.</summary>");
                _writer.Line(Hidden);
                WriteDefinition(_writer, _appName, function.RemoteName, Kind(function), function.OptionInitializers,
                    $"{Literal(function.Signature)}, hasResult: {(function.HasResult ? "true" : "false")}, " +
                    $"parameterCount: {function.Parameters.Count.ToString(CultureInfo.InvariantCulture)});");

                if (function.ClsName is null)
                {
                    _writer.Line("/// <summary>Creates a handle of the function in the app named <paramref name=\"appName\"/>, or in the running app when null.</summary>");
                    _writer.Line("/// <param name=\"appName\">The app's name, or null.</param>");
                    _writer.Line(Hidden);
                    _writer.Line($"internal {function.HandleClassName}(string? appName)");
                    _writer.Line($"    : base(new global::Modal.FunctionReference(appName, {Literal(function.RemoteName)}, Definition)) {{ }}");
                    _writer.Line();
                    _writer.Line($"private {function.HandleClassName}(global::Modal.FunctionReference reference) : base(reference) {{ }}");
                }
                else
                {
                    WriteMethodConstructor();
                }
                _writer.Line();
                _writer.Line("/// <summary>The same function (and variant) in another deployed app.</summary>");
                _writer.Line("/// <param name=\"appName\">The deployed app's name.</param>");
                _writer.Line($"public {function.HandleClassName} WithApp(string appName)");
                _writer.Open();
                _writer.Line("global::System.ArgumentException.ThrowIfNullOrWhiteSpace(appName);");
                _writer.Line($"return new {function.HandleClassName}(this.Reference.WithApp(appName));");
                _writer.Close();
                WriteVariants();

                if (function.Kind == FunctionShape.Generator)
                {
                    _writer.Line();
                    _writer.Line("/// <summary>Runs the generator function remotely and streams its items (Modal's <c>remote_gen</c>).</summary>");
                    _writer.Line($"public {AsyncEnumerable}<{_resultType}> RemoteGen({WithToken(ParameterList, TokenParameter)})");
                    _writer.Line($"    => this.RemoteGenCoreAsync<{_resultType}>({_self}.EncodeArguments({ArgumentList}), {Decoder}, {ct});");
                    WriteNotForGenerators();
                }
                else
                {
                    WriteRemoteAndSpawn(ct);
                    WriteMaps(ct);
                }

                WriteLocal();
                WriteEncode();
                if (function.HasResult)
                {
                    _writer.Line();
                    _writer.Line("/// <summary>Decodes one result.</summary>");
                    _writer.Line(Hidden);
                    _writer.Line($"public static {_resultType} DecodeResult({Memory} output) => {Serializer}.DeserializeResult<{_resultType}>(output, {Literal(_function.RemoteName)});");
                }
                WriteDecode();
                WriteInvoke();
                if (Count >= 2 && function.Kind != FunctionShape.Generator)
                {
                    WriteZip();
                }
                _writer.Close();
            }

            /// <summary>
            /// WithOptions, WithConcurrency and (for a batched function) WithBatching: the same handle type bound to a
            /// variant, whose overrides the base class checks and the backend runs in a pool of its own.
            /// </summary>
            private void WriteVariants()
            {
                string handle = _function.HandleClassName;
                _writer.Line();
                _writer.Line("/// <summary>This function with other options, in a container pool of its own (Modal's <c>with_options</c>); a null argument keeps the declared value.</summary>");
                _writer.Line($"public {handle} WithOptions(int? timeoutSeconds = null, global::Modal.RetryPolicy? retries = null, int? minContainers = null, int? maxContainers = null, " +
                    "int? bufferContainers = null, int? scaledownWindowSeconds = null, double? cpu = null, int? memoryMb = null, string? gpu = null, " +
                    "global::System.Collections.Generic.IReadOnlyDictionary<string, string>? environment = null)");
                _writer.Line($"    => new {handle}(this.OptionsVariant(timeoutSeconds, retries, minContainers, maxContainers, bufferContainers, scaledownWindowSeconds, cpu, memoryMb, gpu, environment));");
                _writer.Line();
                _writer.Line("/// <summary>This function running up to <paramref name=\"maxInputs\"/> inputs per container at once, in a container pool of its own (Modal's <c>with_concurrency</c>).</summary>");
                _writer.Line("/// <param name=\"maxInputs\">Inputs one container runs at once.</param>");
                _writer.Line("/// <param name=\"targetInputs\">Inputs per container the autoscaler aims for; at most <paramref name=\"maxInputs\"/>.</param>");
                _writer.Line($"public {handle} WithConcurrency(int maxInputs, int? targetInputs = null) => new {handle}(this.ConcurrencyVariant(maxInputs, targetInputs));");
                if (_function.Kind == FunctionShape.Batched)
                {
                    _writer.Line();
                    _writer.Line("/// <summary>This batched function with other batch limits, in a container pool of its own (Modal's <c>with_batching</c>).</summary>");
                    _writer.Line("/// <param name=\"maxBatchSize\">Inputs in one batch at most (1 to 1000).</param>");
                    _writer.Line("/// <param name=\"waitMs\">How long a batch waits to fill, in milliseconds (0 to 600000).</param>");
                    _writer.Line($"public {handle} WithBatching(int maxBatchSize, int waitMs) => new {handle}(this.BatchingVariant(maxBatchSize, waitMs));");
                }
            }

            /// <summary>
            /// Remote, Spawn and the maps do not apply to a generator function. They are declared with the function's own
            /// parameters and [Obsolete(error: true)], so that a call that would otherwise fit fails the build with a
            /// message naming RemoteGen (without them, 'Gen.RemoteAsync(3)' would fail only with "member not found").
            /// </summary>
            private void WriteNotForGenerators()
            {
                string name = _function.MethodName.TrimStart('@');
                string parameters = WithToken(ParameterList, TokenParameter);
                string item = _resultType;
                var members = new List<(string Member, string Signature, string Instead)>
                {
                    ("RemoteAsync", $"{Task}<{item}> RemoteAsync({parameters})", "call RemoteGen(...) and iterate its items with 'await foreach'"),
                    ("Remote", $"{item} Remote({ParameterList})", "call RemoteGen(...) and iterate its items with 'await foreach'"),
                    ("SpawnAsync", $"{Task}<global::Modal.FunctionCall<{item}>> SpawnAsync({parameters})", "call RemoteGen(...) and iterate its items with 'await foreach'"),
                    ("Spawn", $"global::Modal.FunctionCall<{item}> Spawn({ParameterList})", "call RemoteGen(...) and iterate its items with 'await foreach'"),
                };
                if (Count > 0)
                {
                    string sequences = string.Join(", ", Parameters.Select(parameter => $"{Enumerable}<{parameter.Type}> {SequenceName(parameter)}"));
                    string mapTail = $"bool {Name("orderOutputs")} = true, {TokenParameter}";
                    members.Add(("Map", $"{AsyncEnumerable}<{item}> Map({sequences}, {mapTail})", "call RemoteGen(...) for each input"));
                    members.Add(("MapResults", $"{AsyncEnumerable}<global::Modal.FunctionResult<{item}>> MapResults({sequences}, {mapTail})", "call RemoteGen(...) for each input"));
                    members.Add(("SpawnMapAsync", $"{Task}<global::Modal.MapCall<{item}>> SpawnMapAsync({sequences}, {TokenParameter})", "call RemoteGen(...) for each input"));
                    members.Add(("ForEachAsync", $"{Task} ForEachAsync({sequences}, bool {Name("ignoreExceptions")} = false, {TokenParameter})", "call RemoteGen(...) for each input"));
                }
                foreach (var (member, signature, instead) in members)
                {
                    string message = Literal($"{name} is a generator function, so {member} does not apply: {instead}.");
                    _writer.Line();
                    _writer.Line($"/// <summary>Not for generator functions: use <c>RemoteGen</c>.</summary>");
                    _writer.Line(Hidden);
                    _writer.Line($"[global::System.Obsolete({message}, error: true)]");
                    _writer.Line($"public {signature} => throw new global::System.NotSupportedException({message});");
                }
            }

            private void WriteRemoteAndSpawn(string ct)
            {
                string parameters = WithToken(ParameterList, TokenParameter);
                string encode = $"{_self}.EncodeArguments({ArgumentList})";
                _writer.Line();
                _writer.Line("/// <summary>Runs the function remotely and waits for its result (Modal's <c>remote</c>).</summary>");
                if (_function.HasResult)
                {
                    _writer.Line($"public {Task}<{_resultType}> RemoteAsync({parameters})");
                    _writer.Line($"    => this.CallCoreAsync<{_resultType}>({encode}, {Decoder}, {ct});");
                    _writer.Line();
                    _writer.Line("/// <summary>Runs the function remotely and blocks until its result arrives.</summary>");
                    _writer.Line($"public {_resultType} Remote({ParameterList}) => this.RemoteAsync({ArgumentList}).GetAwaiter().GetResult();");
                    _writer.Line();
                    _writer.Line("/// <summary>Starts the function without waiting for it (Modal's <c>spawn</c>).</summary>");
                    _writer.Line($"public {Task}<global::Modal.FunctionCall<{_resultType}>> SpawnAsync({parameters})");
                    _writer.Line($"    => this.SpawnCallCoreAsync<{_resultType}>({encode}, {ct});");
                    _writer.Line();
                    _writer.Line("/// <summary>Starts the function without waiting for it, blocking until it is queued.</summary>");
                    _writer.Line($"public global::Modal.FunctionCall<{_resultType}> Spawn({ParameterList}) => this.SpawnAsync({ArgumentList}).GetAwaiter().GetResult();");
                }
                else
                {
                    _writer.Line($"public {Task} RemoteAsync({parameters})");
                    _writer.Line($"    => this.CallCoreAsync({encode}, {ct});");
                    _writer.Line();
                    _writer.Line("/// <summary>Runs the function remotely and blocks until it has finished.</summary>");
                    _writer.Line($"public void Remote({ParameterList}) => this.RemoteAsync({ArgumentList}).GetAwaiter().GetResult();");
                    _writer.Line();
                    _writer.Line("/// <summary>Starts the function without waiting for it (Modal's <c>spawn</c>).</summary>");
                    _writer.Line($"public async {Task}<global::Modal.FunctionCall> SpawnAsync({parameters})");
                    _writer.Line($"    => global::Modal.FunctionCall.FromId(await this.SpawnCoreAsync({encode}, {ct}).ConfigureAwait(false));");
                    _writer.Line();
                    _writer.Line("/// <summary>Starts the function without waiting for it, blocking until it is queued.</summary>");
                    _writer.Line($"public global::Modal.FunctionCall Spawn({ParameterList}) => this.SpawnAsync({ArgumentList}).GetAwaiter().GetResult();");
                }
            }

            private void WriteMaps(string ct)
            {
                if (Count == 0)
                {
                    return;
                }
                string orderOutputs = Name("orderOutputs");
                string ignoreExceptions = Name("ignoreExceptions");
                string sequences = string.Join(", ", Parameters.Select(parameter => $"{Enumerable}<{parameter.Type}> {SequenceName(parameter)}"));
                string inputs = Count == 1
                    ? $"global::Modal.Function.ToAsyncEnumerable<{InputType}>({SequenceName(_function.Parameters[0])})"
                    : $"global::Modal.Function.ToAsyncEnumerable<{InputType}>({_self}.Zip({string.Join(", ", Parameters.Select(SequenceName))}))";
                string mapTail = $"bool {orderOutputs} = true, {TokenParameter}";

                if (_function.HasResult)
                {
                    foreach (var (member, elementType, core, summary) in new[]
                    {
                        ("Map", _resultType, "this.MapCoreAsync", "Runs the function on every input remotely and streams the results; the first failure throws (Modal's <c>map</c>)."),
                        ("MapResults", $"global::Modal.FunctionResult<{_resultType}>", "this.MapResultsCoreAsync", "Runs the function on every input remotely and streams each result or failure (Modal's <c>map(return_exceptions=True)</c>)."),
                    })
                    {
                        _writer.Line();
                        _writer.Line($"/// <summary>{summary}</summary>");
                        _writer.Line($"public {AsyncEnumerable}<{elementType}> {member}({sequences}, {mapTail})");
                        _writer.Line($"    => {core}<{InputType}, {_resultType}>({inputs}, {Encoder}, {Decoder}, {orderOutputs}, {ct});");
                        if (Count == 1)
                        {
                            var parameter = _function.Parameters[0];
                            _writer.Line();
                            _writer.Line($"/// <summary>{summary}</summary>");
                            _writer.Line($"public {AsyncEnumerable}<{elementType}> {member}({AsyncEnumerable}<{parameter.Type}> {SequenceName(parameter)}, {mapTail})");
                            _writer.Line($"    => {core}<{InputType}, {_resultType}>({SequenceName(parameter)}, {Encoder}, {Decoder}, {orderOutputs}, {ct});");
                        }
                    }
                    _writer.Line();
                    _writer.Line("/// <summary>Sends every input as one call that runs on without the caller; any process reaches it with <c>MapCall.FromId</c> (Modal's <c>spawn_map</c>).</summary>");
                    _writer.Line($"public {Task}<global::Modal.MapCall<{_resultType}>> SpawnMapAsync({sequences}, {TokenParameter})");
                    _writer.Line($"    => this.SpawnMapCoreAsync<{InputType}, {_resultType}>({inputs}, {Encoder}, {ct});");
                    if (Count >= 2)
                    {
                        string tuples = Name("inputs");
                        _writer.Line();
                        _writer.Line("/// <summary>Runs the function on every tuple of arguments remotely and streams the results (Modal's <c>starmap</c>).</summary>");
                        _writer.Line($"public {AsyncEnumerable}<{_resultType}> StarMap({Enumerable}<{TupleType}> {tuples}, {mapTail})");
                        _writer.Line($"    => this.MapCoreAsync<{InputType}, {_resultType}>(global::Modal.Function.ToAsyncEnumerable<{InputType}>({tuples}), {Encoder}, {Decoder}, {orderOutputs}, {ct});");
                    }
                }

                _writer.Line();
                _writer.Line("/// <summary>Runs the function on every input remotely and discards the outputs (Modal's <c>for_each</c>).</summary>");
                _writer.Line($"public {Task} ForEachAsync({sequences}, bool {ignoreExceptions} = false, {TokenParameter})");
                _writer.Line($"    => this.ForEachCoreAsync<{InputType}>({inputs}, {Encoder}, {ignoreExceptions}, {ct});");
            }

            private void WriteLocal()
            {
                var function = _function;
                var ownParameters = new List<string>();
                var ownArguments = new List<string>();
                var ownTypes = new List<string>();
                if (function.Kind == FunctionShape.Batched)
                {
                    ownParameters.Add($"{function.BatchListType} {function.BatchParameterName}");
                    ownArguments.Add(function.BatchParameterName!);
                    ownTypes.Add(function.BatchListType!);
                }
                else
                {
                    ownParameters.AddRange(Parameters.Select(parameter => $"{parameter.Type} {parameter.Name}"));
                    ownArguments.AddRange(Parameters.Select(parameter => parameter.Name));
                    ownTypes.AddRange(Parameters.Select(parameter => parameter.Type));
                }
                if (function.CancellationTokenName is { } token)
                {
                    ownParameters.Add($"{CancellationToken} {token} = default");
                    ownArguments.Add(token);
                    ownTypes.Add(CancellationToken);
                }
                string method = function.ClsName is null ? $"{function.ContainingTypeFullName}.{function.MethodName}" : LocalInstanceMethod;
                _writer.Line();
                _writer.Line("/// <summary>Runs the method in this process (Modal's <c>local</c>).</summary>");
                _writer.Line($"public {function.MethodReturnType} Local({string.Join(", ", ownParameters)}) => {method}({string.Join(", ", ownArguments)});");

                _writer.Line();
                if (ownTypes.Count <= 16)
                {
                    bool isVoid = function.ReturnShape == ReturnShape.Void;
                    var delegateTypes = isVoid ? ownTypes : ownTypes.Concat(new[] { function.MethodReturnType }).ToList();
                    string delegateType = (isVoid ? "global::System.Action" : "global::System.Func")
                        + (delegateTypes.Count == 0 ? "" : "<" + string.Join(", ", delegateTypes) + ">");
                    _writer.Line("/// <summary>The method itself (Modal's <c>get_raw_f</c>).</summary>");
                    _writer.Line($"public {delegateType} GetRawF() => {method};");
                }
                else
                {
                    // Func and Action stop at 16 parameters; a method with more gets a delegate type of its own.
                    string delegateParameters = string.Join(", ", ownParameters.Select(parameter => parameter.EndsWith(" = default", StringComparison.Ordinal)
                        ? parameter.Substring(0, parameter.Length - " = default".Length)
                        : parameter));
                    _writer.Line("/// <summary>The method's own signature, the type of <see cref=\"GetRawF\"/>.</summary>");
                    _writer.Line($"public delegate {function.MethodReturnType} RawMethod({delegateParameters});");
                    _writer.Line();
                    _writer.Line("/// <summary>The method itself (Modal's <c>get_raw_f</c>).</summary>");
                    _writer.Line($"public RawMethod GetRawF() => {method};");
                }
            }

            private void WriteEncode()
            {
                string buffer = Name("buffer");
                string writer = Name("writer");
                _writer.Line();
                _writer.Line("/// <summary>Encodes one input's arguments as a MessagePack array.</summary>");
                _writer.Line(Hidden);
                _writer.Open($"public static {Memory} EncodeArguments({ParameterList})");
                _writer.Line($"var {buffer} = new global::System.Buffers.ArrayBufferWriter<byte>();");
                _writer.Line(_function.ClsName is null
                    ? $"var {writer} = {Serializer}.StartArguments({buffer}, {Count});"
                    : $"var {writer} = global::Modal.ClsCodec.StartMethodArguments({buffer}, {Literal(_function.MethodName.TrimStart('@'))}, {Count});");
                foreach (var parameter in Parameters)
                {
                    _writer.Line($"{Serializer}.SerializeArgument<{parameter.Type}>(ref {writer}, {parameter.Name}, {Literal(_function.RemoteName)}, {Literal(parameter.Name.TrimStart('@'))});");
                }
                _writer.Line($"{writer}.Flush();");
                _writer.Line($"return {buffer}.WrittenMemory;");
                _writer.Close();
            }

            private void WriteDecode()
            {
                string arguments = Name("arguments");
                string reader = Name("reader");
                string outs = string.Concat(Parameters.Select(parameter => $", out {parameter.Type} {parameter.Name}"));
                _writer.Line();
                _writer.Open($"internal static void DecodeArguments({Memory} {arguments}{outs})");
                _writer.Line($"var {reader} = new global::MessagePack.MessagePackReader({arguments});");
                _writer.Line($"{Serializer}.ReadArgumentsHeader(ref {reader}, {_self}.Definition, {Count});");
                foreach (var parameter in Parameters)
                {
                    _writer.Line($"{parameter.Name} = {Serializer}.DeserializeArgument<{parameter.Type}>(ref {reader}, {_self}.Definition, {Literal(parameter.Name.TrimStart('@'))});");
                }
                _writer.Close();
            }

            /// <summary>'!' after the call when the method's task or stream is nullable-annotated, so awaiting it does not warn.</summary>
            private string Bang => _function.CallResultMayBeNull ? "!" : "";

            private string Call(string token)
            {
                var arguments = Parameters.Select(parameter => parameter.Name).ToList();
                if (_function.CancellationTokenName is not null)
                {
                    arguments.Add(token);
                }
                return $"{CallTarget}.{_function.MethodName}({string.Join(", ", arguments)})";
            }

            private string DecodeCall(string arguments)
                => $"{_self}.DecodeArguments({arguments}{string.Concat(Parameters.Select(parameter => $", out var {parameter.Name}"))});";

            private void WriteInvoke()
            {
                string arguments = Name("arguments");
                string ct = Name("cancellationToken");
                var shape = _function.ReturnShape;
                bool isAsync = shape is ReturnShape.Task or ReturnShape.ValueTask or ReturnShape.TaskOfResult or ReturnShape.ValueTaskOfResult;
                _writer.Line();
                if (_function.Kind == FunctionShape.Generator)
                {
                    string items = Name("items");
                    string item = Name("item");
                    _writer.Open($"internal static {AsyncEnumerable}<{Memory}> InvokeGeneratorAsync({InstanceParameter}{Memory} {arguments}, {CancellationToken} {ct})");
                    _writer.Line(DecodeCall(arguments));
                    _writer.Line($"return {_self}.EncodeItems({Call(ct)}{Bang}, {ct});");
                    _writer.Close();
                    _writer.Line();
                    _writer.Open($"private static async {AsyncEnumerable}<{Memory}> EncodeItems({AsyncEnumerable}<{_resultType}> {items}, [global::System.Runtime.CompilerServices.EnumeratorCancellation] {CancellationToken} {ct})");
                    _writer.Open($"await foreach (var {item} in global::System.Threading.Tasks.TaskAsyncEnumerableExtensions.WithCancellation({items}, {ct}).ConfigureAwait(false))");
                    _writer.Line($"yield return {Serializer}.SerializeResult<{_resultType}>({item}, {Literal(_function.RemoteName)});");
                    _writer.Close();
                    _writer.Close();
                    return;
                }
                if (_function.Kind == FunctionShape.Batched)
                {
                    WriteInvokeBatch(arguments, ct, isAsync);
                    return;
                }

                string resultName = Name("result");
                _writer.Open($"internal static {(isAsync ? "async " : "")}{ValueTask}<{Memory}> InvokeAsync({InstanceParameter}{Memory} {arguments}, {CancellationToken} {ct})");
                _writer.Line(DecodeCall(arguments));
                switch (shape)
                {
                    case ReturnShape.Void:
                        _writer.Line(Call(ct) + ";");
                        _writer.Line($"return new {ValueTask}<{Memory}>({Serializer}.Nil);");
                        break;
                    case ReturnShape.Value:
                        _writer.Line($"return new {ValueTask}<{Memory}>({Serializer}.SerializeResult<{_resultType}>({Call(ct)}, {Literal(_function.RemoteName)}));");
                        break;
                    case ReturnShape.Task:
                    case ReturnShape.ValueTask:
                        _writer.Line($"await {Call(ct)}{Bang}.ConfigureAwait(false);");
                        _writer.Line($"return {Serializer}.Nil;");
                        break;
                    default:
                        _writer.Line($"var {resultName} = await {Call(ct)}{Bang}.ConfigureAwait(false);");
                        _writer.Line($"return {Serializer}.SerializeResult<{_resultType}>({resultName}, {Literal(_function.RemoteName)});");
                        break;
                }
                _writer.Close();
            }

            private void WriteInvokeBatch(string arguments, string ct, bool isAsync)
            {
                string inputs = Name("inputs");
                string argument = Name("argument");
                string results = Name("results");
                string outputs = Name("outputs");
                string index = Name("index");
                var element = _function.Parameters[0];
                string list = $"global::System.Collections.Generic.IReadOnlyList<{Memory}>";
                _writer.Open($"internal static {(isAsync ? "async " : "")}{ValueTask}<{list}> InvokeBatchAsync({list} {arguments}, {CancellationToken} {ct})");
                _writer.Line($"var {inputs} = new global::System.Collections.Generic.List<{element.Type}>({arguments}.Count);");
                _writer.Open($"foreach (var {argument} in {arguments})");
                _writer.Line(DecodeCall(argument));
                _writer.Line($"{inputs}.Add({element.Name});");
                _writer.Close();
                var call = new List<string> { inputs };
                if (_function.CancellationTokenName is not null)
                {
                    call.Add(ct);
                }
                string invocation = $"{_function.ContainingTypeFullName}.{_function.MethodName}({string.Join(", ", call)})";
                string resultsBang = _function.BatchResultsMayBeNull ? "!" : "";
                _writer.Line(isAsync
                    ? (resultsBang.Length > 0
                        ? $"var {results} = (await {invocation}{Bang}.ConfigureAwait(false))!;"
                        : $"var {results} = await {invocation}{Bang}.ConfigureAwait(false);")
                    : $"var {results} = {invocation}{resultsBang};");
                _writer.Open($"if ({results}.Count != {inputs}.Count)");
                _writer.Line($"throw new global::System.InvalidOperationException(");
                _writer.Line($"    $\"Batched function '{_function.RemoteName}' returned {{{results}.Count}} results for a batch of {{{inputs}.Count}} inputs; it must return exactly one result per input, in input order.\");");
                _writer.Close();
                _writer.Line($"var {outputs} = new {Memory}[{results}.Count];");
                _writer.Open($"for (int {index} = 0; {index} < {outputs}.Length; {index}++)");
                _writer.Line($"{outputs}[{index}] = {Serializer}.SerializeResult<{_resultType}>({results}[{index}], {Literal(_function.RemoteName)});");
                _writer.Close();
                _writer.Line(isAsync ? $"return {outputs};" : $"return new {ValueTask}<{list}>({outputs});");
                _writer.Close();
            }

            private void WriteZip()
            {
                var names = Parameters.Select(SequenceName).ToList();
                _writer.Line();
                _writer.Open($"private static {Enumerable}<{TupleType}> Zip({string.Join(", ", Parameters.Select(parameter => $"{Enumerable}<{parameter.Type}> {SequenceName(parameter)}"))})");
                foreach (var name in names)
                {
                    _writer.Line($"global::System.ArgumentNullException.ThrowIfNull({name});");
                }
                _writer.Line($"return Iterate({string.Join(", ", names)});");
                _writer.Line();
                _writer.Open($"static {Enumerable}<{TupleType}> Iterate({string.Join(", ", Parameters.Select(parameter => $"{Enumerable}<{parameter.Type}> {SequenceName(parameter)}"))})");
                for (int i = 0; i < names.Count; i++)
                {
                    _writer.Line($"using var enumerator{i + 1} = {names[i]}.GetEnumerator();");
                }
                _writer.Open($"while ({string.Join(" && ", System.Linq.Enumerable.Range(1, Count).Select(i => $"enumerator{i}.MoveNext()"))})");
                _writer.Line($"yield return ({string.Join(", ", System.Linq.Enumerable.Range(1, Count).Select(i => $"enumerator{i}.Current"))});");
                _writer.Close();
                _writer.Close();
                _writer.Close();
            }
        }
    }
}
