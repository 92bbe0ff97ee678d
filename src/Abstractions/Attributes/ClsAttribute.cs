namespace Modal;

/// <summary>
/// Marks a class as a Modal class with state (Modal's <c>@app.cls</c>). Each distinct set of its
/// <see cref="ParameterAttribute"/> values runs in a container pool of its own; each container creates one instance,
/// runs its <see cref="EnterAttribute"/> methods once before its first input, serves the <see cref="MethodAttribute"/>
/// methods on that instance, and runs its <see cref="ExitAttribute"/> methods when it stops gracefully. The generator
/// adds <c>Type.Cls.Create(...)</c>, which returns an instance handle with a typed handle per method.
/// </summary>
/// <remarks>
/// The options are those of <see cref="FunctionAttribute"/> and apply to every method; <see cref="RetriesAttribute"/>
/// goes on the class too. The class is partial, not static, abstract or generic, and has an accessible parameterless
/// constructor.
/// </remarks>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class ClsAttribute : FunctionOptionsAttribute
{
    /// <summary>The remote name; defaults to the class's name. Unique among the app's functions and classes.</summary>
    public string? Name { get; set; }
}
