[assembly: Modal.ModalApp("other-app")]

namespace Modal.Conformance.OtherApp;

/// <summary>The functions of "other-app", an app the conformance suite never runs.</summary>
public static partial class OtherAppFunctions
{
    /// <summary>Named "Square" remotely, like the conformance app's <c>Square</c>, but cubes.</summary>
    [Function(Name = "Square")]
    public static int Cube(int x) => x * x * x;
}
