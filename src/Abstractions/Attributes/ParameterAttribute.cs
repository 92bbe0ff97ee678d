namespace Modal;

/// <summary>
/// Marks a property of a <see cref="ClsAttribute"/> class as a parameter (Modal's <c>modal.parameter()</c>): a value
/// given to <c>Type.Cls.Create(...)</c> and set on the instance in every container of that parameter set. The property
/// has an <c>init</c> or <c>set</c> accessor and the type <c>string</c>, <c>int</c>, <c>long</c>, <c>bool</c> or
/// <c>byte[]</c>; a constant initializer (<c>= "base"</c>) makes it optional in <c>Create</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
public sealed class ParameterAttribute : Attribute
{
}
