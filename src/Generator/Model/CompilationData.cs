namespace Modal.Generator.Model;

/// <summary>The few facts of the compilation that the output needs.</summary>
internal sealed record CompilationData(string AssemblyName, string? AppName)
{
    public string DefaultAppName => string.IsNullOrEmpty(AppName) ? AssemblyName : AppName!;
}
