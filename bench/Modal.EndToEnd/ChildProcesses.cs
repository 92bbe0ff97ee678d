namespace Modal.EndToEnd;

/// <summary>The running children of given processes, read from /proc (Linux).</summary>
internal static class ChildProcesses
{
    /// <summary>How many running processes have one of <paramref name="parents"/> as their parent.</summary>
    public static int Count(IReadOnlySet<int> parents)
    {
        int count = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out _))
            {
                continue;
            }
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                continue; // it exited meanwhile
            }
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields after it start at the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length > 1 && fields[0] != "Z" && int.TryParse(fields[1], out int parent) && parents.Contains(parent))
            {
                count++;
            }
        }
        return count;
    }
}
