using System.Text;

namespace Modal.Generator;

/// <summary>A small text writer that indents by blocks, with "\n" line endings on every platform.</summary>
internal sealed class IndentedWriter
{
    private const string IndentUnit = "    ";
    private readonly StringBuilder _builder = new();
    private int _indent;

    public void Line(string text = "")
    {
        if (text.Length > 0)
        {
            for (int i = 0; i < _indent; i++)
            {
                _builder.Append(IndentUnit);
            }
            _builder.Append(text);
        }
        _builder.Append('\n');
    }

    /// <summary>Writes "{" and indents until <see cref="Close"/>.</summary>
    public void Open(string? header = null)
    {
        if (header is not null)
        {
            Line(header);
        }
        Line("{");
        _indent++;
    }

    public void Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
    }

    public void Indent() => _indent++;

    public void Unindent() => _indent--;

    public override string ToString() => _builder.ToString();
}
