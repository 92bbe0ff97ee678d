using Grpc.Core;
using Grpc.Net.Client;
using Modal.Api;
using Modal.Integration;

namespace Modal.Integration.Tests;

/// <summary>
/// Who may do what on a standalone control plane (a real server process on loopback with its admin token), checked from
/// outside: a worker's own credentials, read by the code it runs, must reach nothing but its own app.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class SecurityTests(IntegrationFixture fixture) : IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(fixture.Server.Url);
    private readonly string _directory = Directory.CreateTempSubdirectory("modal-security-").FullName;

    private ModalClient.ModalClientClient Client => new(_channel);

    private static Metadata Admin => TestToken.Headers();

    private static Metadata Container(string[] credentials) =>
        new() { { "x-modal-container-id", credentials[0] }, { "x-modal-container-token", credentials[1] } };

    private static FunctionSpec Spec(string name, int minContainers = 0) =>
        new() { Name = name, ParameterCount = 1, HasResult = true, Signature = $"{name}(int x) -> int", MinContainers = minContainers };

    private static async Task<RpcException> RefusedAsync<T>(Func<Task<T>> call)
    {
        var exception = await Assert.ThrowsAsync<RpcException>(call);
        return exception;
    }

    [Fact]
    public async Task AppCreate_with_a_command_line_is_refused_and_runs_nothing_on_the_host()
    {
        string marker = Path.Combine(_directory, "pwned");
        var request = new AppCreateRequest
        {
            Name = "evil", Kind = AppKind.Deployed, Functions = { Spec("F", minContainers: 1) },
            Launch = new WorkerLaunchSpec { Executable = "/bin/sh", Arguments = { "-c", $"echo pwned > {marker}" } },
        };
        var refused = await RefusedAsync(() => Client.AppCreateAsync(request, Admin).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("launch.executable", refused.Status.Detail, StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(File.Exists(marker), "the command line ran on the server's host");
    }

    [Fact]
    public async Task A_worker_token_can_neither_list_nor_stop_apps()
    {
        var victim = await Client.AppCreateAsync(new AppCreateRequest { Name = "victim-" + Guid.NewGuid().ToString("N")[..6] }, Admin);
        string[] credentials = await SecurityProbes.Functions.ContainerCredentials.RemoteAsync();

        var list = await RefusedAsync(() => Client.AppListAsync(new AppListRequest(), Container(credentials)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, list.StatusCode);
        var stop = await RefusedAsync(() => Client.AppStopAsync(new AppStopRequest { AppId = victim.AppId }, Container(credentials)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, stop.StatusCode);
        var create = await RefusedAsync(() => Client.AppCreateAsync(new AppCreateRequest { Name = "by-a-worker" }, Container(credentials)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, create.StatusCode);

        var apps = await Client.AppListAsync(new AppListRequest(), Admin);
        Assert.Equal("running", apps.Apps.Single(a => a.AppId == victim.AppId).State);
    }

    public void Dispose()
    {
        _channel.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed partial class SecurityTests
{
    [Fact]
    public async Task A_process_worker_sees_neither_the_server_data_directory_nor_its_environment()
    {
        Assert.True(File.Exists(Path.Combine(fixture.DataDirectory, "modal.db")));

        string directory = await SecurityProbes.Functions.TryRead.RemoteAsync(fixture.DataDirectory);
        string database = await SecurityProbes.Functions.TryRead.RemoteAsync(Path.Combine(fixture.DataDirectory, "modal.db"));
        string[] names = await SecurityProbes.Functions.EnvironmentNames.RemoteAsync();

        Assert.DoesNotContain("modal.db", directory, StringComparison.Ordinal);
        Assert.Equal("missing", database);
        Assert.DoesNotContain(ServerProcess.ServerOnlyVariable, names);
        Assert.DoesNotContain("MODAL_TOKEN_SECRET", names);
        Assert.All(names, name => Assert.True(
            name is "PATH" or "HOME" or "TMPDIR" or "LANG" or "PWD" || name.StartsWith("DOTNET_", StringComparison.Ordinal) || name.StartsWith("MODAL_", StringComparison.Ordinal),
            $"the worker's environment has {name}, which the server did not give it"));
    }

    [Fact]
    public async Task A_worker_token_cannot_reach_another_apps_calls_logs_or_blobs()
    {
        var victim = await Client.AppCreateAsync(new AppCreateRequest { Name = "victim-" + Guid.NewGuid().ToString("N")[..6], Functions = { Spec("V") } }, Admin);
        string blobId;
        using (var upload = Client.BlobPut(Admin))
        {
            await upload.RequestStream.WriteAsync(new BlobChunk { Data = Google.Protobuf.ByteString.CopyFrom(0x91, 0x01), TotalSize = 2 });
            await upload.RequestStream.CompleteAsync();
            blobId = (await upload.ResponseAsync).BlobId;
        }
        var call = await Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = victim.FunctionIds["V"], PipelinedInputs = { new FunctionInputItem { Index = 0, Arguments = new Payload { BlobId = blobId } } },
        }, Admin);
        string[] credentials = await SecurityProbes.Functions.ContainerCredentials.RemoteAsync();
        var worker = Container(credentials);

        async Task Denied<T>(Func<Task<T>> attempt, StatusCode expected = StatusCode.PermissionDenied) =>
            Assert.Equal(expected, (await RefusedAsync(attempt)).StatusCode);

        await Denied(() => Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest { FunctionCallId = call.FunctionCallId }, worker).ResponseAsync);
        await Denied(() => Client.FunctionCallCancelAsync(new FunctionCallCancelRequest { FunctionCallId = call.FunctionCallId }, worker).ResponseAsync);
        await Denied(() => Client.FunctionGetCallGraphAsync(new FunctionGetCallGraphRequest { FunctionCallId = call.FunctionCallId }, worker).ResponseAsync);
        await Denied(() => Client.FunctionCallFromIdAsync(new FunctionCallFromIdRequest { FunctionCallId = call.FunctionCallId }, worker).ResponseAsync);
        await Denied(() => Client.FunctionPutInputsAsync(new FunctionPutInputsRequest { FunctionCallId = call.FunctionCallId }, worker).ResponseAsync);
        await Denied(() => Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = victim.FunctionIds["V"] }, worker).ResponseAsync);
        await Denied(() => Client.FunctionUpdateKeepWarmAsync(new FunctionUpdateKeepWarmRequest { FunctionId = victim.FunctionIds["V"], WarmPoolSize = 3 }, worker).ResponseAsync);
        await Denied(() => Client.AppHeartbeatAsync(new AppHeartbeatRequest { AppId = victim.AppId }, worker).ResponseAsync);
        await Denied(async () =>
        {
            using var logs = Client.AppGetLogs(new AppGetLogsRequest { AppId = victim.AppId }, worker);
            return await logs.ResponseStream.MoveNext();
        });
        await Denied(async () =>
        {
            using var download = Client.BlobGet(new BlobGetRequest { BlobId = blobId }, worker);
            return await download.ResponseStream.MoveNext();
        }, StatusCode.NotFound);
        // Calls into another app only from an input the worker runs, and never under another app's input.
        await Denied(() => Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = victim.FunctionIds["V"], PipelinedInputs = { new FunctionInputItem { Index = 0, Arguments = new Payload { Inline = Google.Protobuf.ByteString.CopyFrom(0x91, 0x01) } } },
        }, worker).ResponseAsync);
        await Denied(() => Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = victim.FunctionIds["V"], ParentInputId = call.InputIds[0],
            PipelinedInputs = { new FunctionInputItem { Index = 0, Arguments = new Payload { Inline = Google.Protobuf.ByteString.CopyFrom(0x91, 0x01) } } },
        }, worker).ResponseAsync);
        // Not even a client token links a call under an input it does not run.
        await Denied(() => Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = victim.FunctionIds["V"], ParentInputId = call.InputIds[0],
            PipelinedInputs = { new FunctionInputItem { Index = 0, Arguments = new Payload { Inline = Google.Protobuf.ByteString.CopyFrom(0x91, 0x01) } } },
        }, Admin).ResponseAsync);

        // The victim's call is untouched, and its uploader still reads the blob.
        var outputs = await Client.FunctionGetOutputsAsync(new FunctionGetOutputsRequest { FunctionCallId = call.FunctionCallId }, Admin);
        Assert.Equal(1, outputs.UnfinishedInputs);
        using var own = Client.BlobGet(new BlobGetRequest { BlobId = blobId }, Admin);
        Assert.True(await own.ResponseStream.MoveNext());
        Assert.Equal(new byte[] { 0x91, 0x01 }, own.ResponseStream.Current.Data.ToByteArray());
    }

    [Fact]
    public async Task An_unchanged_build_is_not_uploaded_twice()
    {
        await using var server = await ServerProcess.StartAsync();
        using var connection = GrpcConnection.ForClient(server.Url, TestToken.Id, TestToken.Secret);
        var entrypoints = Hosting.AppIdentity.EntrypointsOf(fixture.App.Name);

        int before = ArtifactUploader.FilesUploaded;
        var first = await ArtifactUploader.UploadAsync(connection, entrypoints, CancellationToken.None);
        int firstFiles = ArtifactUploader.FilesUploaded - before;
        var second = await ArtifactUploader.UploadAsync(connection, entrypoints, CancellationToken.None);

        Assert.True(firstFiles >= 10, $"the first upload sent {firstFiles} files");
        Assert.Equal(before + firstFiles, ArtifactUploader.FilesUploaded);
        Assert.Equal(first.ArtifactDigest, second.ArtifactDigest);
        Assert.Equal("Modal.Integration.Functions.dll", first.Entrypoint);
        Assert.StartsWith("sha256-", first.ArtifactDigest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_artifact_entrypoint_must_be_a_dll_or_an_executable_file_of_the_artifact()
    {
        // A NativeAOT app's entrypoint is its executable: a file of the upload marked executable. Any other file is refused.
        byte[] content = "#!/bin/sh\nexit 0\n"u8.ToArray();
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content));
        var manifest = new ArtifactManifest
        {
            Files =
            {
                new ArtifactFile { Path = "app", Sha256 = sha, Size = content.Length, Executable = true },
                new ArtifactFile { Path = "notes.txt", Sha256 = sha, Size = content.Length },
            },
        };
        var committed = await Client.ArtifactCommitAsync(manifest, Admin);
        if (committed.MissingSha256.Count > 0)
        {
            using var put = Client.ArtifactFilePut(Admin);
            await put.RequestStream.WriteAsync(new ArtifactFileChunk { Data = Google.Protobuf.ByteString.CopyFrom(content), Sha256 = sha, TotalSize = content.Length });
            await put.RequestStream.CompleteAsync();
            await put.ResponseAsync;
            committed = await Client.ArtifactCommitAsync(manifest, Admin);
        }
        Assert.StartsWith("sha256-", committed.Digest, StringComparison.Ordinal);

        AppCreateRequest Create(string entrypoint) => new()
        {
            Name = "native-" + Guid.NewGuid().ToString("N")[..6], Functions = { Spec("F") },
            Launch = new WorkerLaunchSpec { ArtifactDigest = committed.Digest, Entrypoint = entrypoint },
        };
        foreach (string entrypoint in new[] { "notes.txt", "missing" })
        {
            var refused = await RefusedAsync(() => Client.AppCreateAsync(Create(entrypoint), Admin).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            Assert.Contains($"launch.entrypoint '{entrypoint}' is neither a .dll nor an executable file", refused.Status.Detail, StringComparison.Ordinal);
        }
        var created = await Client.AppCreateAsync(Create("app"), Admin);
        await Client.AppStopAsync(new AppStopRequest { AppId = created.AppId }, Admin);
    }
}

