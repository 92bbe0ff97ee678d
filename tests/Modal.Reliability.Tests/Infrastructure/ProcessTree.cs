using System.Globalization;

namespace Modal.Reliability.Tests;

/// <summary>
/// A process seen in <c>/proc</c>: its id, its parent, and its start time (clock ticks after boot), which tells a
/// process apart from a later one that reuses its id.
/// </summary>
public readonly record struct ProcessEntry(int Pid, int ParentPid, ulong StartTicks);

/// <summary>Reads the Linux process tree from <c>/proc</c>: children, descendants, environments.</summary>
public static class ProcessTree
{
    /// <summary>The process, or null when it has exited (or <c>/proc</c> cannot be read).</summary>
    public static ProcessEntry? Read(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        if (fields.Length < 20 || fields[0] == "Z")
        {
            return null; // A zombie has exited already.
        }
        return new ProcessEntry(pid, int.Parse(fields[1], CultureInfo.InvariantCulture), ulong.Parse(fields[19], CultureInfo.InvariantCulture));
    }

    /// <summary>Whether this very process (same id and start time) is still alive.</summary>
    public static bool IsAlive(ProcessEntry process) => Read(process.Pid) is { } now && now.StartTicks == process.StartTicks;

    /// <summary>Every live process.</summary>
    public static List<ProcessEntry> All()
    {
        var processes = new List<ProcessEntry>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Read(pid) is { } process)
            {
                processes.Add(process);
            }
        }
        return processes;
    }

    /// <summary>The live descendants of <paramref name="rootPid"/> (children, their children, ...).</summary>
    public static List<ProcessEntry> Descendants(int rootPid)
    {
        var byParent = All().ToLookup(p => p.ParentPid);
        var found = new List<ProcessEntry>();
        var pending = new Stack<int>();
        pending.Push(rootPid);
        while (pending.Count > 0)
        {
            foreach (var child in byParent[pending.Pop()])
            {
                found.Add(child);
                pending.Push(child.Pid);
            }
        }
        return found;
    }

    /// <summary>Whether the process's environment holds <paramref name="name"/>=<paramref name="value"/> (false once it exited).</summary>
    public static bool HasEnvironmentVariable(int pid, string name, string value) => EnvironmentVariable(pid, name) == value;

    /// <summary>The value of <paramref name="name"/> in the process's environment; null when it has none or has exited.</summary>
    public static string? EnvironmentVariable(int pid, string name)
    {
        try
        {
            var environment = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/environ");
            return environment.Split('\0').FirstOrDefault(entry => entry.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The containers whose worker processes are alive among the descendants of <paramref name="rootPid"/>, by the
    /// <c>MODAL_CONTAINER_ID</c> their launcher gave them: one per container, whether its worker runs alone or under a
    /// sandbox's own processes (bubblewrap) that carry the same environment.
    /// </summary>
    public static HashSet<string> LiveContainers(int rootPid)
        => [.. Descendants(rootPid).Select(p => EnvironmentVariable(p.Pid, "MODAL_CONTAINER_ID")).OfType<string>()];

    /// <summary>The container ids of the live worker processes of one function (<c>MODAL_FUNCTION_NAME</c>).</summary>
    public static HashSet<string> LiveContainers(int rootPid, string functionName)
        => [.. Descendants(rootPid).Where(p => HasEnvironmentVariable(p.Pid, "MODAL_FUNCTION_NAME", functionName))
            .Select(p => EnvironmentVariable(p.Pid, "MODAL_CONTAINER_ID")).OfType<string>()];

    /// <summary>
    /// The worker processes among the descendants of <paramref name="rootPid"/>: those the launcher started with
    /// <c>MODAL_WORKER=1</c>, from the moment their program starts (before their hello) until they exit.
    /// </summary>
    public static List<ProcessEntry> Workers(int rootPid)
        => Descendants(rootPid).Where(p => HasEnvironmentVariable(p.Pid, "MODAL_WORKER", "1")).ToList();
}
