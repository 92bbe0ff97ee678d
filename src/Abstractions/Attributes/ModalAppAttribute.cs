namespace Modal;

/// <summary>
/// Names the Modal app that this assembly's functions belong to. Without it the app is named after the assembly.
/// </summary>
/// <example><c>[assembly: ModalApp("hello")]</c></example>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class ModalAppAttribute : Attribute
{
    /// <summary>Names the app.</summary>
    /// <param name="name">The app's name, as <c>Function.FromName</c> and <c>WithApp</c> refer to it.</param>
    public ModalAppAttribute(string name) => Name = name;

    /// <summary>The app's name.</summary>
    public string Name { get; }
}
