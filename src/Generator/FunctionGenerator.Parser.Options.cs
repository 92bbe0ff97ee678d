using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Modal.Generator.Model;

namespace Modal.Generator;

public sealed partial class FunctionGenerator
{
    internal static partial class Parser
    {
        /// <summary>
        /// The option attributes of a function or a <c>[Cls]</c> class (<c>[Function]</c> or <c>[Cls]</c>, <c>[Retries]</c>,
        /// <c>[Batched]</c>): their initializers and range checks, reported on the function or class named <c>_methodName</c>.
        /// </summary>
        private sealed class OptionsParser
        {
            private static readonly Regex s_gpu = new("^[A-Za-z0-9][A-Za-z0-9-]*(:[1-9][0-9]*)?$", RegexOptions.CultureInvariant);

            private readonly string _methodName;
            private readonly LocationInfo? _defaultLocation;
            private readonly List<DiagnosticInfo> _diagnostics;
            private readonly System.Threading.CancellationToken _cancellationToken;

            public OptionsParser(string subjectName, LocationInfo? defaultLocation, List<DiagnosticInfo> diagnostics, System.Threading.CancellationToken cancellationToken)
            {
                _methodName = subjectName;
                _defaultLocation = defaultLocation;
                _diagnostics = diagnostics;
                _cancellationToken = cancellationToken;
            }

            private LocationInfo? MethodLocation => _defaultLocation;

            private void Report(DiagnosticDescriptor descriptor, LocationInfo? location, params object?[] arguments)
                => _diagnostics.Add(DiagnosticInfo.Create(descriptor, location ?? MethodLocation, arguments));

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

            public List<string> ParseFunctionOptions(AttributeData attribute, out string remoteName, out LocationInfo? nameLocation)
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

            public string ParseRetries(AttributeData attribute)
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

            public string ParseBatched(AttributeData attribute)
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
        }
    }
}
