using System.Globalization;
using System.Text;
using k8s.Models;

namespace Modal.Server.Launching;

/// <summary>
/// What <see cref="KubernetesLauncher"/> sends for one worker: a Secret holding the worker's token and a pod that reads
/// it through <c>secretKeyRef</c>, so that the token never appears in the pod spec.
/// </summary>
internal static class KubernetesWorkerPod
{
    /// <summary>The worker's container in the pod.</summary>
    public const string ContainerName = "worker";

    /// <summary>The key of the token in the worker's Secret.</summary>
    public const string TokenKey = "token";

    /// <summary>The variable the worker reads its token from (WorkerHost).</summary>
    public const string TokenVariable = "MODAL_CONTAINER_TOKEN";

    /// <summary>The variable the worker reads the control plane's URLs from (WorkerHost).</summary>
    public const string ServerUrlVariable = "MODAL_SERVER_URL";

    /// <summary>The label every pod and Secret of this launcher carries, and its selector.</summary>
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";

    /// <summary>The value of <see cref="ManagedByLabel"/>.</summary>
    public const string ManagedBy = "modal-server";

    /// <summary>The label naming the app (made a valid label value; the annotation keeps the name as it is).</summary>
    public const string AppLabel = "modal.dev/app";

    /// <summary>The label naming the function.</summary>
    public const string FunctionLabel = "modal.dev/function";

    /// <summary>The label holding the container id.</summary>
    public const string ContainerIdLabel = "modal.dev/container-id";

    /// <summary>The extended resource GPUs are requested as (the NVIDIA device plugin's).</summary>
    public const string GpuResource = "nvidia.com/gpu";

    /// <summary>The selector of every pod this launcher manages.</summary>
    public static string Selector => $"{ManagedByLabel}={ManagedBy}";

    /// <summary>The pod's name: a DNS-1123 name made from the container id (<c>ct-</c> and 32 hex digits).</summary>
    public static string PodName(string containerId) => "modal-" + ToDnsName(containerId);

    /// <summary>The name of the pod's token Secret.</summary>
    public static string SecretName(string podName) => podName + "-token";

    /// <summary>The Secret that holds the worker's token, labelled like its pod.</summary>
    public static V1Secret Secret(ContainerLaunchRequest request, string podName) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta { Name = SecretName(podName), Labels = Labels(request), Annotations = Annotations(request) },
        Type = "Opaque",
        Immutable = true,
        Data = new Dictionary<string, byte[]> { [TokenKey] = Encoding.UTF8.GetBytes(request.ContainerToken) },
    };

    /// <summary>The worker's pod: the image's own entrypoint, the worker environment, resources, and no API access.</summary>
    /// <param name="request">The launch.</param>
    /// <param name="podName">From <see cref="PodName"/>.</param>
    /// <param name="serverUrl">The control plane's URL as pods reach it.</param>
    /// <param name="options">The launcher's options (defaults, pull secrets, grace period).</param>
    public static V1Pod Pod(ContainerLaunchRequest request, string podName, string serverUrl, KubernetesLauncherOptions options)
    {
        var environment = new List<V1EnvVar>();
        foreach (var (key, value) in request.Environment.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            if (key is TokenVariable or ServerUrlVariable)
            {
                continue;
            }
            environment.Add(new V1EnvVar { Name = key, Value = value });
        }
        environment.Add(new V1EnvVar { Name = ServerUrlVariable, Value = serverUrl });
        environment.Add(new V1EnvVar
        {
            Name = TokenVariable,
            ValueFrom = new V1EnvVarSource
            {
                SecretKeyRef = new V1SecretKeySelector { Name = SecretName(podName), Key = TokenKey, Optional = false },
            },
        });
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = podName, Labels = Labels(request), Annotations = Annotations(request) },
            Spec = new V1PodSpec
            {
                // The control plane relaunches workers itself; a restarted container would reuse a token already ended.
                RestartPolicy = "Never",
                // Workers talk to the control plane, never to the Kubernetes API.
                AutomountServiceAccountToken = false,
                EnableServiceLinks = false,
                TerminationGracePeriodSeconds = options.TerminationGracePeriodSeconds,
                ImagePullSecrets = options.ImagePullSecrets.Count == 0
                    ? null
                    : [.. options.ImagePullSecrets.Select(name => new V1LocalObjectReference { Name = name })],
                Containers =
                [
                    new V1Container
                    {
                        Name = ContainerName,
                        Image = request.Image,
                        ImagePullPolicy = "IfNotPresent",
                        // A worker that dies before it connects has shipped no logs: the tail of its output becomes the
                        // termination message, which the end reason carries.
                        TerminationMessagePolicy = "FallbackToLogsOnError",
                        Env = environment,
                        Resources = Resources(request),
                        SecurityContext = new V1SecurityContext
                        {
                            ReadOnlyRootFilesystem = true,
                            AllowPrivilegeEscalation = false,
                            Capabilities = new V1Capabilities { Drop = ["ALL"] },
                        },
                        VolumeMounts = [new V1VolumeMount { Name = "tmp", MountPath = "/tmp" }],
                    },
                ],
                // The root filesystem is read-only; .NET and the worker write only below /tmp.
                Volumes = [new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() }],
            },
        };
    }

    /// <summary>
    /// Requests equal to limits (a Guaranteed pod), from the launch request's <c>Cpu</c>, <c>MemoryMb</c> and <c>Gpu</c>: the
    /// function's, with the control plane's defaults (0.125 cores, 128 MiB) applied, as for every launcher.
    /// </summary>
    public static V1ResourceRequirements Resources(ContainerLaunchRequest request)
    {
        var resolved = ResourceRequest.Of(request.Cpu, request.MemoryMb, gpu: "");
        string cpu = Math.Max(1, (long)Math.Ceiling(resolved.Cpu * 1000)).ToString(CultureInfo.InvariantCulture) + "m";
        string memory = ((long)resolved.MemoryMb).ToString(CultureInfo.InvariantCulture) + "Mi";
        var requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(cpu), ["memory"] = new(memory) };
        var limits = new Dictionary<string, ResourceQuantity>(requests);
        int gpus = GpuCount(request);
        if (gpus > 0)
        {
            // Extended resources are given as limits; the request defaults to the limit.
            limits[GpuResource] = new ResourceQuantity(gpus.ToString(CultureInfo.InvariantCulture));
        }
        return new V1ResourceRequirements { Requests = requests, Limits = limits };
    }

    /// <summary>The number of GPUs in a request such as <c>A100:2</c> (<c>A100</c> alone is one; empty is none).</summary>
    /// <exception cref="ArgumentException">The request is not <c>TYPE</c> or <c>TYPE:COUNT</c>.</exception>
    public static int GpuCount(ContainerLaunchRequest request) =>
        ResourceRequest.GpuCount(request.Gpu) ?? throw new ArgumentException(
            $"Function {request.FunctionName} of app {request.AppName} requests GPU '{request.Gpu}', which is not TYPE or TYPE:COUNT " +
            "with a count from 1 to 64 (for example \"A100\" or \"A100:2\"). Fix the function's Gpu option.");

    private static Dictionary<string, string> Labels(ContainerLaunchRequest request) => new(StringComparer.Ordinal)
    {
        ["app.kubernetes.io/name"] = "modal-worker",
        [ManagedByLabel] = ManagedBy,
        [AppLabel] = ToLabelValue(request.AppName),
        [FunctionLabel] = ToLabelValue(request.FunctionName),
        [ContainerIdLabel] = ToLabelValue(request.ContainerId),
    };

    private static Dictionary<string, string> Annotations(ContainerLaunchRequest request)
    {
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["modal.dev/app-name"] = request.AppName,
            ["modal.dev/function-name"] = request.FunctionName,
        };
        if (request.Gpu.Length > 0)
        {
            annotations["modal.dev/gpu"] = request.Gpu;
        }
        return annotations;
    }

    /// <summary>
    /// A label value (at most 63 of letters, digits, <c>-_.</c>, starting and ending with a letter or digit): other
    /// characters become <c>-</c>. The annotations keep the names unchanged.
    /// </summary>
    public static string ToLabelValue(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, 63));
        foreach (char c in text)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-');
            if (builder.Length == 63)
            {
                break;
            }
        }
        return builder.ToString().Trim('-', '_', '.');
    }

    private static string ToDnsName(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (char c in text.ToLowerInvariant())
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '-');
        }
        return builder.ToString().Trim('-');
    }
}
