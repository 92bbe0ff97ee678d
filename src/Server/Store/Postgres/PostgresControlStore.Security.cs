namespace Modal.Server.Store;

// Tokens, artifacts and blob readers: the state the control plane's access checks read.
internal sealed partial class PostgresControlStore
{
    public Task<bool> GrantBlobAsync(string blobId, string reader) => WriteAsync(async tx =>
    {
        if (await tx.ScalarAsync<int?>("SELECT 1 FROM blobs WHERE id = $1 FOR UPDATE", blobId).ConfigureAwait(false) is null)
        {
            return false;
        }
        await tx.ExecuteAsync("UPDATE blobs SET readers = readers || $2 || ' ' WHERE id = $1 AND position(' ' || $2 || ' ' in ' ' || readers) = 0",
            blobId, reader).ConfigureAwait(false);
        return true;
    });

    public Task<IReadOnlyList<string>?> ReadBlobReadersAsync(string blobId) => ReadAsync<IReadOnlyList<string>?>(async tx =>
        await tx.QueryAsync("SELECT readers FROM blobs WHERE id = $1", r => r.GetString(0), blobId).ConfigureAwait(false) is [var readers]
            ? readers.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : null);

    public Task<InputOwner?> GetInputOwnerAsync(string inputId) => ReadAsync(tx =>
        tx.SingleAsync("SELECT i.id, i.call_id, f.app_id, i.holder FROM inputs i JOIN functions f ON f.id = i.function_id WHERE i.id = $1",
            r => new InputOwner(r.GetString(0), r.GetString(1), r.GetString(2), PostgresTx.NullableString(r, 3)), inputId));

    public Task CreateTokenAsync(TokenRecord token) => WriteAsync(tx => tx.ExecuteAsync(
        "INSERT INTO tokens(id, secret_hash, admin, apps, expires_ms, created_ms, revoked, description) VALUES($1, $2, $3, $4, $5, $6, $7, $8) " +
        "ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, admin = excluded.admin, apps = excluded.apps, " +
        "expires_ms = excluded.expires_ms, created_ms = excluded.created_ms, revoked = excluded.revoked, description = excluded.description",
        token.Id, token.SecretHash, token.Admin, token.Apps is null ? null : string.Join('\n', token.Apps), token.ExpiresUnixMs,
        token.CreatedUnixMs, token.Revoked, token.Description));

    private const string TokenColumns = "id, secret_hash, admin, apps, expires_ms, created_ms, revoked, description";

    private static TokenRecord ReadToken(Npgsql.NpgsqlDataReader r) => new(
        r.GetString(0), PostgresTx.Bytes(r, 1), r.GetBoolean(2), PostgresTx.NullableString(r, 3)?.Split('\n'),
        r.IsDBNull(4) ? null : r.GetInt64(4), r.GetInt64(5), r.GetBoolean(6), r.GetString(7));

    public Task<TokenRecord?> GetTokenAsync(string tokenId) => ReadAsync(tx =>
        tx.SingleAsync($"SELECT {TokenColumns} FROM tokens WHERE id = $1", ReadToken, tokenId));

    public Task<IReadOnlyList<TokenRecord>> ListTokensAsync() => ReadAsync<IReadOnlyList<TokenRecord>>(async tx =>
        await tx.QueryAsync($"SELECT {TokenColumns} FROM tokens ORDER BY created_ms, id", ReadToken).ConfigureAwait(false));

    public Task<bool> RevokeTokenAsync(string tokenId) => WriteAsync(async tx =>
        await tx.ExecuteAsync("UPDATE tokens SET revoked = true WHERE id = $1", tokenId).ConfigureAwait(false) == 1);

    public Task<bool> RecordArtifactAsync(string digest, byte[] manifest, long size) => WriteAsync(async tx =>
        await tx.ExecuteAsync("INSERT INTO artifacts(digest, manifest, size, created_ms) VALUES($1, $2, $3, modal_now_ms()) ON CONFLICT (digest) DO NOTHING",
            digest, manifest, size).ConfigureAwait(false) == 1);

    public Task<byte[]?> GetArtifactAsync(string digest) => ReadAsync(async tx =>
        await tx.QueryAsync("SELECT manifest FROM artifacts WHERE digest = $1", r => PostgresTx.Bytes(r, 0), digest).ConfigureAwait(false) is [var manifest]
            ? manifest
            : null);
}
