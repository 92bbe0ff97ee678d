namespace Modal;

/// <summary>
/// Marks a method of a <see cref="ClsAttribute"/> class that runs once in each container, on its instance, before the
/// container's first input (Modal's <c>@modal.enter()</c>): load a model, open a connection. It takes nothing but an
/// optional <see cref="System.Threading.CancellationToken"/> and returns <c>void</c> or <c>Task</c>. An exception fails
/// the container; after 3 such failures in a row the queued inputs end as <c>InitFailure</c> carrying it.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class EnterAttribute : Attribute
{
}
