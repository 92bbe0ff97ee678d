namespace Modal;

/// <summary>
/// Marks a method of a <see cref="ClsAttribute"/> class that runs once when a container stops gracefully (scaledown,
/// app stop), after its last input (Modal's <c>@modal.exit()</c>). It takes nothing but an optional
/// <see cref="System.Threading.CancellationToken"/> and returns <c>void</c> or <c>Task</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class ExitAttribute : Attribute
{
}
