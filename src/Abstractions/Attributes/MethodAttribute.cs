namespace Modal;

/// <summary>
/// Marks an instance method of a <see cref="ClsAttribute"/> class as callable remotely (Modal's <c>@modal.method()</c>).
/// It follows the rules of a <see cref="FunctionAttribute"/> method, but runs on the container's instance, so it sees
/// what <see cref="EnterAttribute"/> loaded and what earlier inputs left. Its typed handle is
/// <c>Type.Cls.Create(...).MethodName</c>, with <c>RemoteAsync</c>, <c>SpawnAsync</c>, <c>Map</c> and the rest.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class MethodAttribute : Attribute
{
}
