using System.ComponentModel;

namespace Modal;

/// <summary>
/// Which function a call goes to: an app name (null for the running app) and a function name, plus the
/// definition when the function is compiled into this process.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed record FunctionReference(string? AppName, string Name, FunctionDefinition? Definition)
{
    /// <summary>The reference with an explicit app name.</summary>
    public FunctionReference WithApp(string appName) => this with { AppName = appName };

    /// <summary>The app name a backend resolves to: the explicit one, else the running app's, else the compiled default.</summary>
    public string ResolveAppName(string? runningAppName)
        => AppName ?? runningAppName ?? Definition?.DefaultAppName
           ?? throw new InvalidOperationException($"Function '{Name}' has no app name: use Function.FromName(appName, name).");
}
