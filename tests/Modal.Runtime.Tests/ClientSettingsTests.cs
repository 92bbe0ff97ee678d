using Modal.Hosting;

namespace Modal.Runtime.Tests;

/// <summary>Where an app's control plane URL and token come from: options, then MODAL_* variables, then the profile file.</summary>
public sealed class ClientSettingsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("modal-profile-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Profile(string text)
    {
        var path = Path.Combine(_folder, ".modal.toml");
        File.WriteAllText(path, text);
        return path;
    }

    private static Func<string, string?> Variables(params (string Name, string Value)[] set) =>
        name => set.FirstOrDefault(v => v.Name == name).Value;

    private const string FullProfile = "# mine\nserver_url = \"http://10.0.0.5:50051\"\ntoken_id = \"tk-file\"\ntoken_secret = \"ts-file\"\n";

    [Fact]
    public void The_profile_file_gives_the_url_and_token_when_neither_options_nor_variables_do()
    {
        var settings = ClientSettings.Resolve(new ModalAppOptions(), Variables(), Profile(FullProfile));

        Assert.Equal(new ClientSettings("http://10.0.0.5:50051", "tk-file", "ts-file"), settings);
    }

    [Fact]
    public void Variables_win_over_the_file_and_options_over_both_and_the_token_comes_as_a_pair()
    {
        string path = Profile(FullProfile);
        var variables = Variables(("MODAL_SERVER_URL", "http://127.0.0.1:6000"), ("MODAL_TOKEN_ID", "tk-env"));

        Assert.Equal(new ClientSettings("http://127.0.0.1:6000", "tk-env", null), ClientSettings.Resolve(new ModalAppOptions(), variables, path));
        Assert.Equal(new ClientSettings("http://127.0.0.1:7000", "tk-opt", "ts-opt"),
            ClientSettings.Resolve(new ModalAppOptions { ServerUrl = "http://127.0.0.1:7000", TokenId = "tk-opt", TokenSecret = "ts-opt" }, variables, path));
    }

    [Fact]
    public void No_file_means_no_settings_and_a_file_is_not_read_when_options_and_variables_settle_everything()
    {
        Assert.Equal(new ClientSettings(null, null, null),
            ClientSettings.Resolve(new ModalAppOptions(), Variables(), Path.Combine(_folder, "absent.toml")));

        string bad = Profile("[default]\n");
        var options = new ModalAppOptions { ServerUrl = "http://127.0.0.1:7000", TokenId = "tk", TokenSecret = "ts" };
        Assert.Equal(new ClientSettings("http://127.0.0.1:7000", "tk", "ts"), ClientSettings.Resolve(options, Variables(), bad));
    }

    [Fact]
    public void A_bad_profile_file_is_refused_naming_the_file_the_line_and_the_fix()
    {
        string path = Profile("server_url = \"http://10.0.0.5:50051\"\ntoken_id = tk-unquoted\n");

        var exception = Assert.Throws<ProfileFileException>(() => ClientSettings.Resolve(new ModalAppOptions(), Variables(), path));

        Assert.Equal($"{path} line 2: the value of token_id is not a double-quoted string. Write token_id = \"...\" " +
            "(inside the quotes, write \\\" for a quote and \\\\ for a backslash).", exception.Message);
        Assert.IsAssignableFrom<InvalidOperationException>(exception);
    }
}
