using Api = Modal.Api;

namespace Modal;

/// <summary>Maps a generated <see cref="FunctionDefinition"/> to the wire's <see cref="Api.FunctionSpec"/>.</summary>
internal static class FunctionSpecs
{
    /// <summary>The spec the control plane registers for a function.</summary>
    public static Api.FunctionSpec From(FunctionDefinition definition)
    {
        var options = definition.Options;
        var spec = new Api.FunctionSpec
        {
            Name = definition.Name,
            Kind = definition.Kind switch
            {
                FunctionKind.Generator => Api.FunctionKind.Generator,
                FunctionKind.Batched => Api.FunctionKind.Batched,
                _ => Api.FunctionKind.Unary,
            },
            Signature = definition.Signature,
            ParameterCount = definition.Kind == FunctionKind.Batched ? 1 : CountParameters(definition.Signature),
            HasResult = definition.HasResult,
            TimeoutSeconds = options.TimeoutSeconds,
            MinContainers = options.MinContainers,
            MaxContainers = options.MaxContainers == int.MaxValue ? 0 : options.MaxContainers,
            BufferContainers = options.BufferContainers,
            ScaledownWindowSeconds = options.ScaledownWindowSeconds,
            MaxInputs = options.MaxInputs,
            Cpu = options.Cpu,
            MemoryMb = options.MemoryMb,
            Gpu = options.Gpu ?? string.Empty,
            Retries = new Api.RetryPolicy
            {
                MaxRetries = options.Retries.MaxRetries,
                BackoffCoefficient = options.Retries.BackoffCoefficient,
                InitialDelayMs = options.Retries.InitialDelayMs,
                MaxDelayMs = options.Retries.MaxDelayMs,
            },
        };
        if (options.Batch is { } batch)
        {
            spec.Batch = new Api.BatchOptions { MaxBatchSize = batch.MaxBatchSize, WaitMs = batch.WaitMs };
        }
        return spec;
    }

    /// <summary>
    /// The number of wire parameters in a signature like <c>Add(int a, int b) -&gt; int</c>: top-level commas
    /// between the parentheses, leaving out a trailing <see cref="CancellationToken"/>.
    /// </summary>
    public static int CountParameters(string signature)
    {
        var open = signature.IndexOf('(', StringComparison.Ordinal);
        if (open < 0)
        {
            return 0;
        }
        var depth = 0;
        var start = open + 1;
        var parameters = new List<string>();
        for (var i = open + 1; i < signature.Length; i++)
        {
            var c = signature[i];
            if (c is '<' or '(' or '[')
            {
                depth++;
            }
            else if (c is '>' or ']' || (c == ')' && depth > 0))
            {
                depth--;
            }
            else if (c == ')' && depth == 0)
            {
                parameters.Add(signature[start..i]);
                break;
            }
            else if (c == ',' && depth == 0)
            {
                parameters.Add(signature[start..i]);
                start = i + 1;
            }
        }
        return parameters.Count(p => p.Trim().Length > 0 && !p.Contains("CancellationToken", StringComparison.Ordinal));
    }
}
