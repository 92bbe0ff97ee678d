using System.CommandLine;

namespace Modal.Server.Tests.Kubernetes;

/// <summary>`--launcher kubernetes` and the `--kubernetes-*` options of `modal server`.</summary>
public sealed class KubernetesCommandLineTests
{
    [Fact]
    public void The_kubernetes_launcher_options_are_parsed()
    {
        var options = ControlPlaneCommandLine.Parse([
            "--launcher", "kubernetes", "--kubeconfig", "kube.yaml", "--kubernetes-context", "prod", "--kubernetes-namespace", "workers",
            "--kubernetes-server-url", "http://modal.modal-system.svc:50051",
            "--kubernetes-image-pull-secret", "registry-a", "--kubernetes-image-pull-secret", "registry-b",
        ]);

        var kubernetes = Assert.IsType<Launching.KubernetesLauncherOptions>(options.Kubernetes);
        Assert.Equal(Path.GetFullPath("kube.yaml"), kubernetes.KubeconfigPath);
        Assert.Equal(("prod", "workers", "http://modal.modal-system.svc:50051", false), (kubernetes.Context, kubernetes.Namespace, kubernetes.ServerUrl, kubernetes.InCluster));
        Assert.Equal(["registry-a", "registry-b"], kubernetes.ImagePullSecrets);
        Assert.Null(ControlPlaneCommandLine.Parse([]).Kubernetes);
        Assert.Null(ControlPlaneCommandLine.Parse(["--launcher", "process"]).Kubernetes);
    }

    [Theory]
    [InlineData("--launcher kubernetes", "--launcher kubernetes needs --kubernetes-server-url URL")]
    [InlineData("--kubernetes-namespace workers", "--kubernetes-namespace applies only to --launcher kubernetes")]
    [InlineData("--launcher kubernetes --kubernetes-server-url modal:50051", "--kubernetes-server-url 'modal:50051' is not an http:// or https:// URL")]
    [InlineData("--launcher kubernetes --kubernetes-server-url http://m:1 --kubernetes-in-cluster --kubeconfig k", "--kubernetes-in-cluster and --kubeconfig exclude each other")]
    [InlineData("--launcher docker", "'docker'")]
    public void Bad_kubernetes_options_are_refused_naming_the_value_and_the_fix(string arguments, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => ControlPlaneCommandLine.Parse(arguments.Split(' ')));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Help_lists_the_launcher_and_kubernetes_options()
    {
        var output = new StringWriter();

        ControlPlaneCommandLine.AddServer(new RootCommand()).Parse(["--help"]).Invoke(new InvocationConfiguration { Output = output });

        string help = output.ToString();
        foreach (var option in new[] { "--launcher <process|podman|kubernetes>", "--registry <HOST:PORT>", "--base-image <IMAGE>", "--kubeconfig <FILE>", "--kubernetes-context <NAME>", "--kubernetes-in-cluster",
            "--kubernetes-namespace <NAMESPACE>", "--kubernetes-server-url <URL>", "--kubernetes-image-pull-secret <NAME>" })
        {
            Assert.Contains(option, help);
        }
    }
}
