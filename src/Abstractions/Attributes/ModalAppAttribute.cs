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

    /// <summary>
    /// True for an app whose workers are published with NativeAOT (<c>&lt;PublishAot&gt;true&lt;/PublishAot&gt;</c> in its
    /// project): the generator then also emits MessagePack formatters for the types of its functions' parameters and
    /// results and a resolver that every payload of this assembly uses first, so that no formatter is made at run time.
    /// </summary>
    public bool Aot { get; set; }
}
