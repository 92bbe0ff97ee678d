using System.ComponentModel;

namespace Modal;

/// <summary>One output of a map as a backend yields it: the input's index and its encoded value or its failure.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly record struct MapOutput(int Index, ReadOnlyMemory<byte> Value, ModalException? Failure);
