using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Modal.Generator.Model;

namespace Modal.Generator;

public sealed partial class FunctionGenerator
{
    /// <summary>
    /// The checks across functions, which need all of them at once: a remote name used twice, an overloaded method
    /// name, a method named like another function's handle class. The emitter drops the functions they report.
    /// </summary>
    internal static class Clashes
    {
        /// <summary>The diagnostics of the clashes, each reported on the later function in <see cref="FunctionOrder"/>.</summary>
        public static EquatableArray<DiagnosticInfo> FindCrossFunctionProblems(ImmutableArray<FunctionParseResult> results)
        {
            var sorted = results
                .Where(result => result.Function is not null)
                .OrderBy(result => result.Function!, FunctionOrder.Instance)
                .ThenBy(result => result.MethodLocation?.FilePath ?? "", StringComparer.Ordinal)
                .ThenBy(result => result.MethodLocation?.TextSpan.Start ?? 0)
                .ToList();
            var diagnostics = new List<DiagnosticInfo>();
            foreach (var (index, problem, other) in Find(sorted.Select(result => result.Function!).ToList()))
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
            var dropped = new HashSet<int>(Find(list).Select(clash => clash.Index));
            return list.Where((_, index) => !dropped.Contains(index));
        }

        private enum Clash
        {
            MethodName,
            RemoteName,
            HandleName,
        }

        /// <summary>Each function that cannot be emitted next to the ones before it in <paramref name="functions"/>, and why.</summary>
        private static List<(int Index, Clash Problem, FunctionModel Other)> Find(List<FunctionModel> functions)
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

        /// <summary>
        /// A <c>[Cls]</c> name that a function, or a class before it (by type name), already has: MODAL011 on the class.
        /// </summary>
        public static EquatableArray<DiagnosticInfo> FindClassNameProblems(ImmutableArray<FunctionParseResult> functions, ImmutableArray<ClsParseResult> classes)
        {
            var diagnostics = new List<DiagnosticInfo>();
            var sorted = classes.Where(result => result.Cls is not null).OrderBy(result => result.Cls!.TypeFullName, StringComparer.Ordinal).ToList();
            var functionModels = functions.Where(result => result.Function is not null).Select(result => result.Function!).ToEquatableArray();
            foreach (var (cls, owner) in ClassClashes(functionModels, sorted.Select(result => result.Cls!).ToEquatableArray()))
            {
                var result = sorted.First(candidate => ReferenceEquals(candidate.Cls, cls));
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateName, result.NameLocation, cls.RemoteName, ShortTypeName(cls), owner));
            }
            return diagnostics.ToEquatableArray();
        }

        /// <summary>The classes that the output emits: those whose name no emitted function and no class before them has.</summary>
        public static IEnumerable<ClsModel> ClassesWithoutDuplicates(EquatableArray<FunctionModel> functions, EquatableArray<ClsModel> classes)
        {
            var dropped = new HashSet<ClsModel>(ClassClashes(functions, classes).Select(clash => clash.Cls));
            return classes.Where(cls => !dropped.Contains(cls));
        }

        private static List<(ClsModel Cls, string Owner)> ClassClashes(EquatableArray<FunctionModel> functions, EquatableArray<ClsModel> classes)
        {
            var owners = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var function in WithoutDuplicates(Sort(functions.ToImmutableArray())))
            {
                owners[function.RemoteName] = ShortTypeName(function) + "." + function.MethodName.TrimStart('@');
            }
            var clashes = new List<(ClsModel, string)>();
            foreach (var cls in classes)
            {
                if (owners.TryGetValue(cls.RemoteName, out var owner))
                {
                    clashes.Add((cls, owner));
                }
                else
                {
                    owners.Add(cls.RemoteName, ShortTypeName(cls));
                }
            }
            return clashes;
        }

        private static string ShortTypeName(ClsModel cls) => string.Join(".", cls.ContainingTypes.Select(type => type.Name));

        private static string ShortTypeName(FunctionModel function) => string.Join(".", function.ContainingTypes.Select(type => type.Name));
    }
}
