using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Modal.Server;

/// <summary>TLS for the control plane: the certificate it serves, and the rule that only loopback may go without one.</summary>
internal static class Transport
{
    /// <summary>The PEM certificate and key the options name, or null for HTTP/2 cleartext.</summary>
    public static X509Certificate2? LoadCertificate(ControlPlaneOptions options)
    {
        if (options.TlsCertificatePath is null && options.TlsKeyPath is null)
        {
            return null;
        }
        if (options.TlsCertificatePath is null || options.TlsKeyPath is null)
        {
            throw new ArgumentException("--tls-cert and --tls-key go together: give the PEM certificate and its PEM private key.");
        }
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(options.TlsCertificatePath, options.TlsKeyPath);
            // Re-imported so that the key is usable by the TLS stack on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception exception) when (exception is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            throw new ArgumentException(
                $"Could not load the TLS certificate '{options.TlsCertificatePath}' with the key '{options.TlsKeyPath}': {exception.Message}", exception);
        }
    }

    /// <summary>A standalone server beyond loopback needs TLS, or <c>--insecure</c> (which it warns about).</summary>
    public static void CheckListen(ControlPlaneOptions options, IPAddress address, bool tls)
    {
        if (!options.Standalone || tls || IPAddress.IsLoopback(address))
        {
            return;
        }
        if (!options.Insecure)
        {
            throw new ArgumentException(
                $"Refusing to listen on {address} without TLS: tokens would cross the network in clear. Give --tls-cert FILE --tls-key FILE " +
                "(PEM), or --insecure if the network is trusted.");
        }
        Console.Error.WriteLine(
            $"WARNING: listening on {address} without TLS (--insecure): tokens and payloads cross the network in clear text.");
    }
}
