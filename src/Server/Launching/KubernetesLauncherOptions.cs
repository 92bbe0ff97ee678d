namespace Modal.Server.Launching;

/// <summary>How <see cref="KubernetesLauncher"/> reaches the cluster and what it puts into each worker's pod.</summary>
public sealed record KubernetesLauncherOptions
{
    /// <summary>The kubeconfig file; null: <c>KUBECONFIG</c>, else <c>~/.kube/config</c> (ignored with <see cref="InCluster"/>).</summary>
    public string? KubeconfigPath { get; init; }

    /// <summary>The kubeconfig context; null: its current context.</summary>
    public string? Context { get; init; }

    /// <summary>Use the service account of the pod this server runs in instead of a kubeconfig file.</summary>
    public bool InCluster { get; init; }

    /// <summary>The namespace of the workers' pods and secrets; null: the context's namespace (in cluster: this pod's), else <c>default</c>.</summary>
    public string? Namespace { get; init; }

    /// <summary>
    /// The control plane's URL as pods reach it (a Service in front of the replicas, e.g.
    /// <c>http://modal.modal-system.svc:50051</c>). It replaces <c>MODAL_SERVER_URL</c> in the pods: the URL the server
    /// knows itself by is its listen address, usually loopback, which a pod cannot reach.
    /// </summary>
    public string? ServerUrl { get; init; }

    /// <summary>Secrets (in <see cref="Namespace"/>) the kubelet uses to pull worker images from a private registry.</summary>
    public IReadOnlyList<string> ImagePullSecrets { get; init; } = [];

    /// <summary>Seconds a stopped pod gets between SIGTERM and SIGKILL.</summary>
    public int TerminationGracePeriodSeconds { get; init; } = 5;
}
