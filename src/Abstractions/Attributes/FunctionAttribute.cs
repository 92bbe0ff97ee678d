namespace Modal;

/// <summary>
/// Marks a static method as a Modal function. The source generator adds a typed handle
/// <c>ContainingType.Functions.MethodName</c> with <c>RemoteAsync</c>, <c>SpawnAsync</c>, <c>Map</c> and the rest,
/// and a container entrypoint that runs the method in a worker.
/// </summary>
/// <remarks>Options left unset take the control plane's defaults; the generator checks every set value's range.</remarks>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class FunctionAttribute : FunctionOptionsAttribute
{
    /// <summary>The remote name; defaults to the method's name. Unique within an app.</summary>
    public string? Name { get; set; }
}
