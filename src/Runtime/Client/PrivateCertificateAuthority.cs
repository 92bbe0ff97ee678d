using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Modal;

/// <summary>
/// CA certificates trusted for the control plane besides the system's (<c>ModalAppOptions.CaCertificatePath</c>,
/// <c>MODAL_CA_CERT</c>): a certificate the system accepts is accepted; otherwise its chain must end at one of these.
/// The host name is always checked.
/// </summary>
internal sealed class PrivateCertificateAuthority
{
    /// <summary>The environment variable naming the PEM file.</summary>
    public const string Variable = "MODAL_CA_CERT";

    private readonly X509Certificate2Collection _roots;

    private PrivateCertificateAuthority(X509Certificate2Collection roots) => _roots = roots;

    /// <summary>Reads the PEM file; throws <see cref="ConnectionException"/> naming it when it holds no certificate.</summary>
    public static PrivateCertificateAuthority Load(string path)
    {
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ConnectionException($"Could not read the CA certificates in '{path}' (CaCertificatePath or {Variable}): {exception.Message}", exception);
        }
        return roots.Count > 0
            ? new PrivateCertificateAuthority(roots)
            : throw new ConnectionException($"'{path}' (CaCertificatePath or {Variable}) holds no PEM certificate.");
    }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_roots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }
}
