namespace Modal.Generator.Model;

/// <summary>The method's return type, as far as calling and awaiting it goes.</summary>
internal enum ReturnShape
{
    Void,
    Task,
    ValueTask,
    Value,
    TaskOfResult,
    ValueTaskOfResult,
    AsyncEnumerable,
}
