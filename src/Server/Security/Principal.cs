namespace Modal.Server.Security;

/// <summary>What kind of caller a request comes from.</summary>
internal enum PrincipalKind
{
    /// <summary>An admin token: everything, including managing tokens.</summary>
    Admin,

    /// <summary>A client token: apps, calls and blobs, limited to named apps when <see cref="Principal.Apps"/> is set.</summary>
    User,

    /// <summary>A worker's container credentials: its own app, and the calls its running inputs make.</summary>
    Worker,
}

/// <summary>Who made a request, as the auth interceptor established it.</summary>
internal sealed record Principal(PrincipalKind Kind, string Id, IReadOnlySet<string>? Apps = null, string? AppId = null, string? ContainerId = null)
{
    /// <summary>The key under which the interceptor leaves the principal in <c>ServerCallContext.UserState</c>.</summary>
    public const string ContextKey = "modal-principal";

    /// <summary>The name this principal has in a blob's reader list: <c>tk:ID</c> for tokens, <c>app:ID</c> for an app's workers.</summary>
    public string Reader => Kind == PrincipalKind.Worker ? "app:" + AppId : "tk:" + Id;

    /// <summary>For the embedded control plane without a token: the caller's own process, trusted with everything.</summary>
    public static readonly Principal Local = new(PrincipalKind.Admin, "local");

    public override string ToString() => Kind switch
    {
        PrincipalKind.Worker => $"container {ContainerId} of app {AppId}",
        PrincipalKind.Admin => $"admin token {Id}",
        _ => Apps is null ? $"token {Id}" : $"token {Id} (limited to apps {string.Join(", ", Apps)})",
    };
}
