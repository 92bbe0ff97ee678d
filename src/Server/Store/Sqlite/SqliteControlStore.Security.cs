namespace Modal.Server.Store;

// Tokens, artifacts and blob readers: the state the control plane's access checks read.
internal sealed partial class SqliteControlStore
{
    public Task<bool> GrantBlobAsync(string blobId, string reader) => WriteAsync((tx, _, _) =>
    {
        if (tx.Scalar<long?>("SELECT 1 FROM blobs WHERE id = $1", blobId) is null)
        {
            return false;
        }
        tx.Execute("UPDATE blobs SET readers = readers || $2 || ' ' WHERE id = $1 AND instr(' ' || readers, ' ' || $2 || ' ') = 0", blobId, reader);
        return true;
    });

    public Task<IReadOnlyList<string>?> ReadBlobReadersAsync(string blobId) => ReadAsync<IReadOnlyList<string>?>(tx =>
        tx.Query("SELECT readers FROM blobs WHERE id = $1", r => r.GetString(0), blobId) is [var readers]
            ? readers.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : null);

    public Task<InputOwner?> GetInputOwnerAsync(string inputId) => ReadAsync(tx =>
        tx.Single("SELECT i.id, i.call_id, f.app_id, i.holder FROM inputs i JOIN functions f ON f.id = i.function_id WHERE i.id = $1",
            r => new InputOwner(r.GetString(0), r.GetString(1), r.GetString(2), SqliteTx.NullableString(r, 3)), inputId));

    public Task CreateTokenAsync(TokenRecord token) => WriteAsync((tx, _, _) => tx.Execute(
        "INSERT OR REPLACE INTO tokens(id, secret_hash, admin, apps, expires_ms, created_ms, revoked, description) " +
        "VALUES($1, $2, $3, $4, $5, $6, $7, $8)",
        token.Id, token.SecretHash, token.Admin ? 1 : 0, token.Apps is null ? null : string.Join('\n', token.Apps), token.ExpiresUnixMs,
        token.CreatedUnixMs, token.Revoked ? 1 : 0, token.Description));

    private const string TokenColumns = "id, secret_hash, admin, apps, expires_ms, created_ms, revoked, description";

    private static TokenRecord ReadToken(Microsoft.Data.Sqlite.SqliteDataReader r) => new(
        r.GetString(0), SqliteTx.Bytes(r, 1), r.GetInt64(2) != 0, SqliteTx.NullableString(r, 3)?.Split('\n'),
        r.IsDBNull(4) ? null : r.GetInt64(4), r.GetInt64(5), r.GetInt64(6) != 0, r.GetString(7));

    public Task<TokenRecord?> GetTokenAsync(string tokenId) => ReadAsync(tx =>
        tx.Single($"SELECT {TokenColumns} FROM tokens WHERE id = $1", ReadToken, tokenId));

    public Task<IReadOnlyList<TokenRecord>> ListTokensAsync() => ReadAsync<IReadOnlyList<TokenRecord>>(tx =>
        tx.Query($"SELECT {TokenColumns} FROM tokens ORDER BY created_ms, id", ReadToken));

    public Task<bool> RevokeTokenAsync(string tokenId) => WriteAsync((tx, _, _) =>
        tx.Execute("UPDATE tokens SET revoked = 1 WHERE id = $1", tokenId) == 1);

    public Task<bool> RecordArtifactAsync(string digest, byte[] manifest, long size) => WriteAsync((tx, now, _) =>
        tx.Execute("INSERT OR IGNORE INTO artifacts(digest, manifest, size, created_ms) VALUES($1, $2, $3, $4)", digest, manifest, size, now) == 1);

    public Task<byte[]?> GetArtifactAsync(string digest) => ReadAsync(tx =>
        tx.Query("SELECT manifest FROM artifacts WHERE digest = $1", r => SqliteTx.Bytes(r, 0), digest) is [var manifest] ? manifest : null);
}
