using Modal.Server.Store;

namespace Modal.Server.Tests.StoreContract;

public sealed class PostgresUrlTests
{
    [Fact]
    public void A_url_names_user_password_host_port_and_database()
    {
        var builder = PostgresUrl.Parse("postgresql://modal:p%40ss@db.internal:6543/control");

        Assert.Equal(("modal", "p@ss", "db.internal", 6543, "control"), (builder.Username, builder.Password, builder.Host, builder.Port, builder.Database));
    }

    [Fact]
    public void Without_a_password_or_port_the_environment_password_and_5432_are_used()
    {
        var builder = PostgresUrl.Parse("postgres://modal@127.0.0.1/control", environmentPassword: "from-env");

        Assert.Equal(("from-env", 5432), (builder.Password, builder.Port));
    }

    [Theory]
    [InlineData("postgresql://modal:secret@host:5432/", "no database")]
    [InlineData("postgresql://host:5432/control", "no user")]
    [InlineData("postgresql://modal:secret@host:5432/control?sslmode=require", "'?'")]
    [InlineData("mysql://modal:secret@host/control", "postgresql://")]
    [InlineData("postgresql://modal:secret@host:notaport/control", "well-formed")]
    public void A_bad_url_is_refused_naming_it_without_its_password(string url, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => PostgresUrl.Parse(url));

        Assert.Contains(reason, error.Message);
        Assert.Contains(PostgresUrl.Redact(url), error.Message);
        Assert.DoesNotContain("secret", error.Message);
        Assert.Contains("postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE", error.Message);
    }
}
