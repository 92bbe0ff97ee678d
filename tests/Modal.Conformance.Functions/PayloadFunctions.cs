namespace Modal.Conformance;

/// <summary>A value MessagePack cannot encode at run time although its type looks fine: its property throws when read.</summary>
public sealed class Fragile
{
    /// <summary>Throws when read, as MessagePack reads every public property it could write back.</summary>
    public int Value
    {
        get => throw new InvalidOperationException("Fragile.Value cannot be read.");
        set { }
    }
}

/// <summary>Functions whose arguments or results fail to encode at run time, for <c>PayloadException</c>.</summary>
public static partial class PayloadFunctions
{
    /// <summary>Its result cannot be encoded where it runs.</summary>
    [Function]
    public static Fragile Unencodable(int x) => new();

    /// <summary>Its argument cannot be encoded where it is called.</summary>
    [Function]
    public static int TakesFragile(Fragile fragile) => 1;

    /// <summary>A generator whose second item cannot be encoded.</summary>
    [Function]
    public static async IAsyncEnumerable<Fragile?> FragileItems(int x)
    {
        await Task.Yield();
        yield return null;
        yield return new Fragile();
    }
}
