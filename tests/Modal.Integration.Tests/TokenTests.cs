using Grpc.Core;
using Grpc.Net.Client;
using Modal.Api;

namespace Modal.Integration.Tests;

/// <summary>Tokens on a standalone control plane (real server processes on loopback), seen through the real client.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class TokenTests(IntegrationFixture fixture) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modal-tokens-").FullName;

    private static Metadata Admin => TestToken.Headers();

    private static Task<AppListResponse> ListAppsAsync(string url, string? tokenId, string? secret)
    {
        var connection = GrpcConnection.ForClient(url, tokenId, secret, TimeSpan.Zero);
        return connection.CallAsync((e, o) => e.Client.AppListAsync(new AppListRequest(), o), CancellationToken.None)
            .ContinueWith(t => { connection.Dispose(); return t; }, TaskScheduler.Default).Unwrap();
    }

    private async Task<TokenCreateResponse> CreateTokenAsync(TokenCreateRequest request)
    {
        using var channel = GrpcChannel.ForAddress(fixture.Server.Url);
        return await new ModalClient.ModalClientClient(channel).TokenCreateAsync(request, Admin);
    }

    [Fact]
    public async Task Without_a_configured_token_the_server_creates_an_admin_token_in_an_owner_only_file_beside_its_database()
    {
        string database = Path.Combine(_directory, "modal.db");
        string envFile = Path.Combine(_directory, "modal-admin.env");
        string first;
        await using (var server = await ServerProcess.StartWithoutTestTokenAsync("--db", database))
        {
            Assert.Contains(envFile, server.Output, StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(envFile));
            }
            first = await File.ReadAllTextAsync(envFile);
            var values = first.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            Assert.Equal(["MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET"], values.Keys.Order());
            Assert.NotNull(await ListAppsAsync(server.Url, values["MODAL_TOKEN_ID"], values["MODAL_TOKEN_SECRET"]));
            var none = await Assert.ThrowsAsync<AuthenticationException>(() => ListAppsAsync(server.Url, null, null));
            Assert.Contains("No token", none.Message, StringComparison.Ordinal);

            // The database holds only the secret's hash.
            byte[] stored = await File.ReadAllBytesAsync(database);
            Assert.Equal(-1, stored.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(values["MODAL_TOKEN_SECRET"])));
        }
        // A second start finds its token and creates none.
        await using (var again = await ServerProcess.StartWithoutTestTokenAsync("--db", database))
        {
            Assert.DoesNotContain("modal-admin.env", again.Output, StringComparison.Ordinal);
            Assert.Equal(first, await File.ReadAllTextAsync(envFile));
        }
    }

    [Fact]
    public async Task No_token_a_wrong_secret_an_unknown_id_and_an_expired_token_each_say_what_was_wrong()
    {
        string url = fixture.Server.Url;
        var none = await Assert.ThrowsAsync<AuthenticationException>(() => ListAppsAsync(url, null, null));
        Assert.Contains("No token", none.Message, StringComparison.Ordinal);
        var wrong = await Assert.ThrowsAsync<AuthenticationException>(() => ListAppsAsync(url, TestToken.Id, "ts-wrong"));
        Assert.Contains($"Wrong secret for token '{TestToken.Id}'", wrong.Message, StringComparison.Ordinal);
        var unknown = await Assert.ThrowsAsync<AuthenticationException>(() => ListAppsAsync(url, "tk-never-issued", "ts-x"));
        Assert.Contains("Unknown token id 'tk-never-issued'", unknown.Message, StringComparison.Ordinal);

        var soon = await CreateTokenAsync(new TokenCreateRequest { ExpiresUnixMs = DateTimeOffset.UtcNow.AddSeconds(2).ToUnixTimeMilliseconds() });
        Assert.NotNull(await ListAppsAsync(url, soon.TokenId, soon.TokenSecret));
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var expired = await Assert.ThrowsAsync<AuthenticationException>(() => ListAppsAsync(url, soon.TokenId, soon.TokenSecret));
        Assert.Contains($"Token '{soon.TokenId}' expired", expired.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revoked_token_is_refused_at_its_next_request_and_tokens_are_listed_without_secrets()
    {
        var token = await CreateTokenAsync(new TokenCreateRequest { Description = "to revoke" });
        Assert.NotNull(await ListAppsAsync(fixture.Server.Url, token.TokenId, token.TokenSecret));

        using var channel = GrpcChannel.ForAddress(fixture.Server.Url);
        var client = new ModalClient.ModalClientClient(channel);
        var listed = (await client.TokenListAsync(new TokenListRequest(), Admin)).Tokens.Single(t => t.TokenId == token.TokenId);
        Assert.Equal("to revoke", listed.Description);
        Assert.False(listed.Revoked);
        await client.TokenRevokeAsync(new TokenRevokeRequest { TokenId = token.TokenId }, Admin);

        var revoked = await Assert.ThrowsAsync<AuthenticationException>(() => ListAppsAsync(fixture.Server.Url, token.TokenId, token.TokenSecret));
        Assert.Contains("was revoked", revoked.Message, StringComparison.Ordinal);
        Assert.True((await client.TokenListAsync(new TokenListRequest(), Admin)).Tokens.Single(t => t.TokenId == token.TokenId).Revoked);
    }

    [Fact]
    public async Task A_token_limited_to_app_A_cannot_reach_app_B_or_manage_tokens()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Server.Url);
        var client = new ModalClient.ModalClientClient(channel);
        string suffix = Guid.NewGuid().ToString("N")[..6];
        var spec = new FunctionSpec { Name = "F", ParameterCount = 1, HasResult = true, Signature = "F(int x) -> int" };
        var a = await client.AppCreateAsync(new AppCreateRequest { Name = "a-" + suffix, Kind = AppKind.Deployed, Functions = { spec } }, Admin);
        var b = await client.AppCreateAsync(new AppCreateRequest { Name = "b-" + suffix, Kind = AppKind.Deployed, Functions = { spec } }, Admin);
        var limited = await CreateTokenAsync(new TokenCreateRequest { AppNames = { "a-" + suffix } });
        using var connection = GrpcConnection.ForClient(fixture.Server.Url, limited.TokenId, limited.TokenSecret, TimeSpan.Zero);
        Task<T> Call<T>(Func<GrpcEndpoint, CallOptions, AsyncUnaryCall<T>> send) => connection.CallAsync(send, CancellationToken.None);
        var argument = new FunctionInputItem { Index = 0, Arguments = new Payload { Inline = Google.Protobuf.ByteString.CopyFrom(0x91, 0x01) } };

        var found = await Call((e, o) => e.Client.FunctionGetAsync(new FunctionGetRequest { AppName = "a-" + suffix, FunctionName = "F" }, o));
        Assert.Equal(a.FunctionIds["F"], found.FunctionId);
        var call = await Call((e, o) => e.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = a.FunctionIds["F"], PipelinedInputs = { argument } }, o));
        Assert.Single(call.InputIds);
        Assert.Equal(["a-" + suffix], (await Call((e, o) => e.Client.AppListAsync(new AppListRequest(), o))).Apps.Select(app => app.Name));

        var lookup = await Assert.ThrowsAsync<AuthenticationException>(() =>
            Call((e, o) => e.Client.FunctionGetAsync(new FunctionGetRequest { AppName = "b-" + suffix, FunctionName = "F" }, o)));
        Assert.Contains($"may not reach app 'b-{suffix}'", lookup.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<AuthenticationException>(() =>
            Call((e, o) => e.Client.FunctionMapAsync(new FunctionMapRequest { FunctionId = b.FunctionIds["F"], PipelinedInputs = { argument } }, o)));
        await Assert.ThrowsAsync<AuthenticationException>(() => Call((e, o) => e.Client.AppStopAsync(new AppStopRequest { AppId = b.AppId }, o)));
        await Assert.ThrowsAsync<AuthenticationException>(() => Call((e, o) => e.Client.TokenCreateAsync(new TokenCreateRequest(), o)));
        await Assert.ThrowsAsync<AuthenticationException>(() => Call((e, o) => e.Client.TokenListAsync(new TokenListRequest(), o)));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
