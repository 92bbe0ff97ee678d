namespace Modal;

/// <summary>Where an app's function calls run.</summary>
public enum ModalMode
{
    /// <summary>The server in <c>MODAL_SERVER_URL</c> when set, else <see cref="Embedded"/>.</summary>
    Auto,
    /// <summary>A control plane started in this process on loopback, with local worker processes.</summary>
    Embedded,
    /// <summary>A standalone control plane at <see cref="ModalAppOptions.ServerUrl"/>.</summary>
    Remote,
    /// <summary>Every call in this process, with the remote semantics (for unit tests).</summary>
    InProcess,
}
