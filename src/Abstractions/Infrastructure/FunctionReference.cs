using System.ComponentModel;

namespace Modal;

/// <summary>
/// Which function a call goes to: an app name (null for the running app) and a function name, plus the
/// definition when the function is compiled into this process.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed record FunctionReference(string? AppName, string Name, FunctionDefinition? Definition)
{
    /// <summary>The option overrides of a variant (<c>WithOptions</c>, <c>WithConcurrency</c>, <c>WithBatching</c>); null for none.</summary>
    public FunctionVariant? Variant { get; init; }

    /// <summary>A deployed app's version the reference is pinned to; null for the newest (looked up when each call is created).</summary>
    public int? Version { get; init; }

    /// <summary>The reference with an explicit app name (and the same variant and version).</summary>
    public FunctionReference WithApp(string appName) => this with { AppName = appName };

    /// <summary>The reference to a variant; an empty one is the function itself.</summary>
    public FunctionReference WithVariant(FunctionVariant variant) => this with { Variant = variant.IsEmpty ? null : variant };

    /// <summary>The declared options of a compiled function, or the defaults when the function is known by name only.</summary>
    public FunctionOptions DeclaredOptions => Definition?.Options ?? FunctionOptions.Default;

    /// <summary>
    /// The app the reference goes to: the explicit app name; else, for a compiled function, the running app's name
    /// when the running app runs that very function (under its own or a <c>ModalAppOptions.AppName</c> name) and the
    /// function's compiled app name otherwise, so that a handle never reaches another app's function of the same
    /// name; else the running app's name.
    /// </summary>
    /// <param name="runningApp">The installed backend, or null when no app is running.</param>
    public string ResolveAppName(IModalBackend? runningApp)
    {
        if (AppName is not null)
        {
            return AppName;
        }
        if (Definition is not null)
        {
            return runningApp?.RunningAppName is { } running && runningApp.Runs(Definition) ? running : Definition.DefaultAppName;
        }
        return runningApp?.RunningAppName
               ?? throw new InvalidOperationException($"Function '{Name}' has no app name: use Function.FromName(appName, name).");
    }
}
