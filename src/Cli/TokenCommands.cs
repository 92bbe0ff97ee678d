using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Modal.Api;
using Modal.Hosting;

namespace Modal.Cli;

/// <summary><c>modal token new|list|revoke</c>: API tokens (TokenCreate, TokenList, TokenRevoke need an admin token).</summary>
internal static class TokenCommands
{
    public static Command Token()
    {
        var kind = new Option<string>("--kind")
        {
            Description = "admin (everything, including tokens) or client (apps, calls, logs; see --app).",
            HelpName = "admin|client",
            DefaultValueFactory = _ => "client",
        };
        kind.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is not ("admin" or "client") and var given)
            {
                result.AddError($"--kind '{given}' is not a kind of token: use admin or client.");
            }
        });
        var apps = new Option<string[]>("--app")
        {
            Description = "Limit a client token to this app (repeat for several). Default: every app.",
            HelpName = "NAME",
            AllowMultipleArgumentsPerToken = false,
        };
        var expires = new Option<string?>("--expires")
        {
            Description = "When the token stops working: a duration from now (30m, 12h, 90d) or a UTC time (2027-01-31T00:00:00Z). Default: never.",
            HelpName = "DURATION|TIME",
        };
        var description = new Option<string?>("--description") { Description = "A note shown by 'modal token list'.", HelpName = "TEXT" };
        var save = new Option<bool>("--save-profile")
        {
            Description = "Also write the token and the server URL to the profile file (~/.modal.toml, or MODAL_CONFIG_PATH).",
        };
        var create = new Command("new", "Create a token and print its id and secret (the secret is shown only once).")
        {
            kind, apps, expires, description, save, Output.JsonOption,
        };
        create.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, connection) =>
        {
            var request = new TokenCreateRequest
            {
                Admin = parseResult.GetValue(kind) == "admin",
                ExpiresUnixMs = parseResult.GetValue(expires) is { } expiry ? ParseExpiry(expiry) : 0,
                Description = parseResult.GetValue(description) ?? string.Empty,
            };
            request.AppNames.AddRange(parseResult.GetValue(apps) ?? []);
            if (request.Admin && request.AppNames.Count > 0)
            {
                throw new UsageException("an admin token reaches every app: give --kind admin or --app, not both.");
            }
            string? profile = parseResult.GetValue(save) ? ProfileFile.Path : null;
            if (profile is not null)
            {
                ProfileFile.Read(profile); // a bad file is refused before the token is made
            }
            var created = await client.TokenCreateAsync(request, cancellationToken: cancellationToken);
            if (profile is not null)
            {
                ProfileFile.Write(profile, new Dictionary<string, string>
                {
                    [ProfileFile.ServerUrl] = connection.ServerUrls, [ProfileFile.TokenId] = created.TokenId, [ProfileFile.TokenSecret] = created.TokenSecret,
                });
            }
            if (parseResult.GetValue(Output.JsonOption))
            {
                Output.WriteJson(new JsonObject
                {
                    ["tokenId"] = created.TokenId, ["tokenSecret"] = created.TokenSecret, ["kind"] = request.Admin ? "admin" : "client",
                    ["apps"] = new JsonArray([.. request.AppNames.Select(name => JsonValue.Create(name))]),
                    ["expiresUnixMs"] = request.ExpiresUnixMs, ["profile"] = profile,
                });
                return 0;
            }
            Console.WriteLine($"MODAL_TOKEN_ID={created.TokenId}");
            Console.WriteLine($"MODAL_TOKEN_SECRET={created.TokenSecret}");
            await Console.Error.WriteLineAsync(profile is null
                ? "modal: the secret is shown only once; keep it (or use --save-profile to write it to the profile file)."
                : $"modal: wrote server_url, token_id and token_secret to {profile}.");
            return 0;
        }));

        var list = new Command("list", "List the tokens: id, kind, apps, description, created, expires, state.") { Output.JsonOption };
        list.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, _) =>
        {
            var tokens = (await client.TokenListAsync(new TokenListRequest(), cancellationToken: cancellationToken)).Tokens;
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            string State(TokenInfo token) => token.Revoked ? "revoked" : token.ExpiresUnixMs != 0 && token.ExpiresUnixMs <= now ? "expired" : "active";
            return Output.Write(parseResult, tokens,
                token => new JsonObject
                {
                    ["tokenId"] = token.TokenId, ["kind"] = token.Admin ? "admin" : "client",
                    ["apps"] = new JsonArray([.. token.AppNames.Select(name => JsonValue.Create(name))]), ["description"] = token.Description,
                    ["createdUnixMs"] = token.CreatedUnixMs, ["expiresUnixMs"] = token.ExpiresUnixMs, ["state"] = State(token),
                },
                ["Token id", "Kind", "Apps", "Description", "Created (UTC)", "Expires (UTC)", "State"],
                token => [token.TokenId, token.Admin ? "admin" : "client", token.AppNames.Count == 0 ? "(all)" : string.Join(", ", token.AppNames),
                    token.Description, Output.Time(token.CreatedUnixMs), token.ExpiresUnixMs == 0 ? "never" : Output.Time(token.ExpiresUnixMs), State(token)]);
        }));

        var tokenArgument = new Argument<string>("token-id") { Description = "The token's id (tk-...), as 'modal token list' shows it." };
        var revoke = new Command("revoke", "Revoke a token: its next request is refused.") { tokenArgument };
        revoke.SetAction((parseResult, cancellationToken) => Connection.RunAsync(parseResult, async (client, _) =>
        {
            string tokenId = parseResult.GetValue(tokenArgument)!;
            await client.TokenRevokeAsync(new TokenRevokeRequest { TokenId = tokenId }, cancellationToken: cancellationToken);
            Console.WriteLine($"Revoked token {tokenId}.");
            return 0;
        }));

        return new Command("token", "Create, list and revoke API tokens (needs an admin token).") { create, list, revoke, Connection.ServerOption };
    }

    /// <summary>An expiry: a duration from now (<c>30m</c>, <c>12h</c>, <c>90d</c>) or an ISO 8601 time (UTC unless it says otherwise).</summary>
    internal static long ParseExpiry(string text)
    {
        var now = DateTimeOffset.UtcNow;
        DateTimeOffset at;
        if (text.Length >= 2 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double amount)
            && double.IsFinite(amount) && amount > 0 && amount < 1_000_000 && char.ToLowerInvariant(text[^1]) is 's' or 'm' or 'h' or 'd')
        {
            at = now + (char.ToLowerInvariant(text[^1]) switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                _ => TimeSpan.FromDays(amount),
            });
        }
        else if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at))
        {
            throw new UsageException($"--expires '{text}' is neither a duration (30m, 12h, 90d) nor a time (2027-01-31T00:00:00Z).");
        }
        if (at <= now)
        {
            throw new UsageException($"--expires '{text}' is in the past; give a later time or a duration such as 90d.");
        }
        return at.ToUnixTimeMilliseconds();
    }
}
