using Grpc.Core;
using Modal.Api;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Security;

/// <summary>
/// Who may reach what. Admin tokens reach everything; client tokens reach every app, or only the apps they name; a
/// worker reaches its own app (its calls, logs, stats), calls any function only under an input it runs itself, and the
/// calls those inputs made. A blob is readable by its uploader, by the workers of the calls it was attached to as an
/// argument, and by whoever may read the call whose result it is. Refusals are PERMISSION_DENIED naming who and what.
/// </summary>
internal sealed class AccessControl(IControlStore store)
{
    public static Principal Of(ServerCallContext context) =>
        context.UserState.TryGetValue(Principal.ContextKey, out var value) && value is Principal principal ? principal : Principal.Local;

    public static void RequireAdmin(Principal principal, string rpc)
    {
        if (principal.Kind != PrincipalKind.Admin)
        {
            throw Errors.Denied($"{rpc} needs an admin token; {principal} is not one.");
        }
    }

    /// <summary>Refuses workers: their credentials reach their own app's work, not the control plane's management.</summary>
    public static void RequireClient(Principal principal, string rpc)
    {
        if (principal.Kind == PrincipalKind.Worker)
        {
            throw Errors.Denied($"{rpc} is not open to workers: {principal} reaches only its own app's inputs, outputs, logs and blobs.");
        }
    }

    /// <summary>Whether a client token may reach the app of this name (workers are checked by app id instead).</summary>
    public static bool MayUseAppName(Principal principal, string appName) =>
        principal.Kind != PrincipalKind.Worker && (principal.Apps is null || principal.Apps.Contains(appName));

    public static void CheckAppName(Principal principal, string appName, string rpc)
    {
        RequireClient(principal, rpc);
        if (!MayUseAppName(principal, appName))
        {
            throw Errors.Denied($"{rpc}: {principal} may not reach app '{appName}'.");
        }
    }

    /// <summary>The app, when the principal may reach it: clients by name, workers only their own (when <paramref name="workerMay"/>).</summary>
    public async Task<AppRow> CheckAppAsync(Principal principal, string appId, string rpc, bool workerMay)
    {
        if (principal.Kind == PrincipalKind.Worker)
        {
            if (!workerMay || appId != principal.AppId)
            {
                throw Errors.Denied($"{rpc}: {principal} may not reach app '{appId}'.");
            }
        }
        var app = await store.GetAppAsync(appId).ConfigureAwait(false) ?? throw Errors.NotFound($"App '{appId}' was not found.");
        if (principal.Kind != PrincipalKind.Worker && !MayUseAppName(principal, app.Name))
        {
            throw Errors.Denied($"{rpc}: {principal} may not reach app '{app.Name}'.");
        }
        return app;
    }

    /// <summary>A function's use: clients by app name; workers any function (to call it) or only their own (stats).</summary>
    public static void CheckFunction(Principal principal, FunctionRow function, string rpc, bool workerOwnAppOnly)
    {
        bool allowed = principal.Kind == PrincipalKind.Worker
            ? !workerOwnAppOnly || function.AppId == principal.AppId
            : MayUseAppName(principal, function.AppName);
        if (!allowed)
        {
            throw Errors.Denied($"{rpc}: {principal} may not reach function {function.Name} of app '{function.AppName}'.");
        }
    }

    /// <summary>Whether the principal may read and control this call.</summary>
    public async Task<bool> MayAccessCallAsync(Principal principal, CallRow call)
    {
        switch (principal.Kind)
        {
            case PrincipalKind.Worker:
                if (call.AppId == principal.AppId)
                {
                    return true;
                }
                // A call its own inputs made (a nested call into another app).
                return call.ParentInputId is { } parent && (await store.GetInputOwnerAsync(parent).ConfigureAwait(false))?.AppId == principal.AppId;
            default:
                if (principal.Apps is null)
                {
                    return true;
                }
                var app = await store.GetAppAsync(call.AppId).ConfigureAwait(false);
                return app is not null && principal.Apps.Contains(app.Name);
        }
    }

    public async Task CheckCallAsync(Principal principal, CallRow call, string rpc)
    {
        if (!await MayAccessCallAsync(principal, call).ConfigureAwait(false))
        {
            throw Errors.Denied($"{rpc}: {principal} may not reach function call {call.Id} (of {call.FunctionName}).");
        }
    }

    /// <summary>
    /// A call's parent input: only a worker may name one, and only an input it holds now, so that the call graph links
    /// calls only under the inputs that made them.
    /// </summary>
    public async Task CheckParentAsync(Principal principal, string parentInputId)
    {
        if (ReferenceEquals(principal, Principal.Local))
        {
            return; // A control plane without any token, hosted by its only caller (tests, a host that embeds it).
        }
        if (principal.Kind != PrincipalKind.Worker)
        {
            throw Errors.Denied($"FunctionMap: parent_input_id links a call under a running input; only the worker running that input may set it, not {principal}.");
        }
        var owner = await store.GetInputOwnerAsync(parentInputId).ConfigureAwait(false);
        if (owner is null || owner.Holder != principal.ContainerId)
        {
            throw Errors.Denied($"FunctionMap: parent_input_id '{parentInputId}' is not an input that {principal} is running.");
        }
    }

    public async Task<bool> MayReadBlobAsync(Principal principal, string blobId)
    {
        var readers = await store.ReadBlobReadersAsync(blobId).ConfigureAwait(false);
        if (readers is null)
        {
            return false;
        }
        foreach (string reader in readers)
        {
            if (reader == principal.Reader)
            {
                return true;
            }
            if (reader.StartsWith("out:", StringComparison.Ordinal)
                && await store.GetCallAsync(reader[4..]).ConfigureAwait(false) is { } call
                && await MayAccessCallAsync(principal, call).ConfigureAwait(false))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Blob payloads a request refers to: each must be readable by the principal (else NOT_FOUND, as for a blob that does
    /// not exist: ids are not probed), and becomes readable by <paramref name="reader"/>.
    /// </summary>
    public async Task AttachBlobsAsync(Principal principal, IEnumerable<Payload?> payloads, string reader)
    {
        foreach (var payload in payloads)
        {
            if (payload?.DataCase != Payload.DataOneofCase.BlobId)
            {
                continue;
            }
            if (!await MayReadBlobAsync(principal, payload.BlobId).ConfigureAwait(false))
            {
                throw Errors.NotFound($"Blob '{payload.BlobId}' was not found. Upload it with BlobPut first.");
            }
            await store.GrantBlobAsync(payload.BlobId, reader).ConfigureAwait(false);
        }
    }
}
