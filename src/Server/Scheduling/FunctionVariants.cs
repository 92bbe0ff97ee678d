using Google.Protobuf;
using Modal.Api;
using Modal.Server.Core;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

/// <summary>
/// Variants of functions. A variant is a function row of its own (so its own container pool, autoscaler, backlog and
/// limits) made from a declared function, its base, and named by a key among the base's variants:
/// <list type="bullet">
/// <item>its spec is the base's with <c>FunctionOverrides</c> laid over it, checked as AppCreate checks a spec;</item>
/// <item>it carries an opaque <c>parameters</c> payload that its workers receive in <c>ContainerHelloResponse.parameters</c>;</item>
/// <item>it is made on the first FunctionGetVariant and found by every later one: the store's unique (base, key) makes
/// concurrent requests on any replica agree on one row, and a key that comes back with other options is refused;</item>
/// <item>it lives in its base's app version (deleted with the app, drained with a superseded version), and a call by name
/// that moves to the newest version moves to the same variant of the newest version's function (<see cref="NewestVersionOfAsync"/>).</item>
/// </list>
/// <c>WithOptions</c>, <c>WithConcurrency</c> and <c>WithBatching</c> use overrides and no parameters; a <c>Cls</c> parameter
/// set is the same mechanism with parameters (and a key derived from them), combined with any options in one request.
/// </summary>
internal sealed class FunctionVariants(IControlStore store, AppOperations apps, ContainerControl containers)
{
    /// <summary>The largest parameters payload a variant carries.</summary>
    public const int MaxParametersBytes = 64 * 1024;

    /// <summary>
    /// The variant of <paramref name="baseFunction"/> named <paramref name="key"/>, made with these overrides and parameters if it
    /// does not exist yet. INVALID_ARGUMENT when the base is a variant, the overrides do not fit, or the key names other options.
    /// </summary>
    public async Task<FunctionRow> GetOrCreateAsync(FunctionRow baseFunction, string key, FunctionOverrides overrides, ByteString parameters, string rpc)
    {
        if (baseFunction.Variant is { } itself)
        {
            throw Errors.Invalid($"{rpc}: function '{baseFunction.Id}' is a variant ('{itself.Key}') of function '{itself.BaseId}'; make variants " +
                "of the function its app declares, with every override in one request.");
        }
        if (parameters.Length > MaxParametersBytes)
        {
            throw Errors.Invalid($"{rpc}: parameters has {parameters.Length} bytes; at most {MaxParametersBytes} are allowed.");
        }
        var spec = Compose(baseFunction, overrides, rpc);
        var variant = await store.GetOrCreateVariantAsync(new NewVariant(
                Ids.New("fu-"), baseFunction.Id, key, spec.ToByteArray(), overrides.ToByteArray(), parameters.ToByteArray())).ConfigureAwait(false)
            ?? throw Errors.NotFound($"Function '{baseFunction.Id}' was not found. Look functions up with FunctionGet or create them with AppCreate.");
        if (!FunctionSpec.Parser.ParseFrom(variant.Spec).Equals(spec) || !parameters.Span.SequenceEqual(variant.Variant!.Parameters))
        {
            throw Errors.Invalid($"{rpc}: the variant key '{key}' of function {baseFunction.Name} of app '{baseFunction.AppName}' already names " +
                "other options or parameters. Derive the key from the overrides and parameters, so that equal variants share a key and others do not.");
        }
        containers.Nudge();
        return variant;
    }

    /// <summary>
    /// For a call by name without a version: <paramref name="function"/> on the newest version of its app. A declared function is
    /// the newest version's function of its name; a variant is the same variant (key, overrides, parameters) of that function,
    /// made now if need be. A function the newest version does not declare, or a variant that does not fit its new base, stays.
    /// </summary>
    public async Task<FunctionRow> NewestVersionOfAsync(FunctionRow function)
    {
        var newest = await apps.NewestVersionOfAsync(function).ConfigureAwait(false);
        if (function.Variant is not { } variant || ReferenceEquals(newest, function))
        {
            return newest;
        }
        try
        {
            return await GetOrCreateAsync(newest, variant.Key, FunctionOverrides.Parser.ParseFrom(variant.Overrides),
                ByteString.CopyFrom(variant.Parameters), "FunctionMap").ConfigureAwait(false);
        }
        catch (Grpc.Core.RpcException exception) when (exception.StatusCode == Grpc.Core.StatusCode.InvalidArgument)
        {
            return function;
        }
    }

    /// <summary>The base's spec with the overrides laid over it, checked as AppCreate checks a spec.</summary>
    private static FunctionSpec Compose(FunctionRow baseFunction, FunctionOverrides overrides, string rpc)
    {
        var spec = FunctionSpec.Parser.ParseFrom(baseFunction.Spec);
        spec.TimeoutSeconds = overrides.HasTimeoutSeconds ? overrides.TimeoutSeconds : spec.TimeoutSeconds;
        spec.Retries = overrides.Retries?.Clone() ?? spec.Retries;
        spec.MinContainers = overrides.HasMinContainers ? overrides.MinContainers : spec.MinContainers;
        spec.MaxContainers = overrides.HasMaxContainers ? overrides.MaxContainers : spec.MaxContainers;
        spec.BufferContainers = overrides.HasBufferContainers ? overrides.BufferContainers : spec.BufferContainers;
        spec.ScaledownWindowSeconds = overrides.HasScaledownWindowSeconds ? overrides.ScaledownWindowSeconds : spec.ScaledownWindowSeconds;
        spec.Cpu = overrides.HasCpu ? overrides.Cpu : spec.Cpu;
        spec.MemoryMb = overrides.HasMemoryMb ? overrides.MemoryMb : spec.MemoryMb;
        spec.Gpu = overrides.HasGpu ? overrides.Gpu : spec.Gpu;
        RequestLimits.Optional(spec.Gpu, "overrides.gpu", rpc);
        spec.MaxInputs = overrides.HasMaxInputs ? overrides.MaxInputs : spec.MaxInputs;
        spec.TargetInputs = overrides.HasTargetInputs ? overrides.TargetInputs : spec.TargetInputs;
        foreach (var (name, value) in overrides.Environment)
        {
            spec.Environment[name] = value;
        }
        if (overrides.Batch is { } batch)
        {
            if (spec.Kind != FunctionKind.Batched)
            {
                throw Errors.Invalid($"{rpc}: function {spec.Name} of app '{baseFunction.AppName}' is not batched, so a variant cannot set its batch " +
                    "options (WithBatching applies to [Batched] functions only).");
            }
            spec.Batch = batch.Clone();
        }
        FunctionSpecValidator.Validate(baseFunction.AppName, spec, rpc);
        return spec;
    }
}
