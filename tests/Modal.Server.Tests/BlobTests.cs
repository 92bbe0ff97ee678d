using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Modal.Api;
using Modal.Server.Tests.Infrastructure;

namespace Modal.Server.Tests;

public sealed class BlobTests
{
    [Fact]
    public async Task A_50_MiB_blob_round_trips()
    {
        await using var server = await TestServer.StartAsync();
        var data = new byte[50 * 1024 * 1024];
        new Random(42).NextBytes(data);

        using var put = server.Client.BlobPut();
        for (int offset = 0; offset < data.Length; offset += 1024 * 1024)
        {
            await put.RequestStream.WriteAsync(new BlobChunk
            {
                Data = ByteString.CopyFrom(data, offset, Math.Min(1024 * 1024, data.Length - offset)),
                TotalSize = offset == 0 ? data.Length : 0,
            });
        }
        await put.RequestStream.CompleteAsync();
        string blobId = (await put).BlobId;

        using var get = server.Client.BlobGet(new BlobGetRequest { BlobId = blobId });
        using var received = new MemoryStream();
        await foreach (var chunk in get.ResponseStream.ReadAllAsync())
        {
            chunk.Data.WriteTo(received);
        }

        Assert.Equal(data.Length, received.Length);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received.ToArray()));
    }

    [Fact]
    public async Task A_retried_upload_with_the_same_idempotency_key_returns_the_first_blob_and_stores_nothing_more()
    {
        var blobDirectory = Directory.CreateTempSubdirectory("modal-blob-keys-");
        await using var server = await TestServer.StartAsync(new ControlPlaneOptions { BlobDirectory = blobDirectory.FullName });
        async Task<string> PutAsync(string key, byte value)
        {
            using var put = server.Client.BlobPut();
            await put.RequestStream.WriteAsync(new BlobChunk { Data = ByteString.CopyFrom(value, value), TotalSize = 4, IdempotencyKey = key });
            await put.RequestStream.WriteAsync(new BlobChunk { Data = ByteString.CopyFrom(value, value) });
            await put.RequestStream.CompleteAsync();
            return (await put).BlobId;
        }

        string first = await PutAsync("k-1", 1);
        string retried = await PutAsync("k-1", 2);
        string other = await PutAsync("k-2", 3);

        Assert.Equal(first, retried);
        Assert.NotEqual(first, other);
        Assert.Equal(2, Directory.GetFiles(blobDirectory.FullName).Length);
        Assert.Equal(2, (await server.ControlPlane.Store.CountRowsAsync())["blobs"]);
        blobDirectory.Delete(recursive: true);
    }

    [Fact]
    public async Task A_blob_over_the_limit_is_rejected_with_its_size()
    {
        await using var server = await TestServer.StartAsync();
        using var put = server.Client.BlobPut();

        await put.RequestStream.WriteAsync(new BlobChunk { Data = ByteString.CopyFrom(1, 2, 3), TotalSize = 300L * 1024 * 1024 });
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await put.RequestStream.CompleteAsync();
            await put;
        });

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains((300L * 1024 * 1024).ToString(), error.Status.Detail);
        Assert.Contains("256 MiB", error.Status.Detail);
    }

    [Fact]
    public async Task Arguments_in_a_blob_are_checked_and_accepted()
    {
        await using var server = await TestServer.StartAsync();
        var (_, functionId) = await server.CreateAppAsync(Payloads.Spec());
        using var put = server.Client.BlobPut();
        await put.RequestStream.WriteAsync(new BlobChunk { Data = Payloads.Ints(7).Inline, TotalSize = 2 });
        await put.RequestStream.CompleteAsync();
        string blobId = (await put).BlobId;

        var map = await server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId,
            PipelinedInputs = { new FunctionInputItem { Arguments = new Payload { BlobId = blobId } } },
        });
        var missing = await Assert.ThrowsAsync<RpcException>(() => server.Client.FunctionMapAsync(new FunctionMapRequest
        {
            FunctionId = functionId,
            PipelinedInputs = { new FunctionInputItem { Arguments = new Payload { BlobId = "bl-missing" } } },
        }).ResponseAsync);

        Assert.Single(map.InputIds);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("bl-missing", missing.Status.Detail);
    }
}
