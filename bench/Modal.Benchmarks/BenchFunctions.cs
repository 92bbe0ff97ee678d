[assembly: Modal.ModalApp("bench")]

namespace Modal.Benchmarks;

/// <summary>The functions the micro benchmarks encode arguments for and call in process.</summary>
public static partial class BenchFunctions
{
    /// <summary>One primitive argument.</summary>
    [Function]
    public static int Square(int x) => x * x;

    /// <summary>A string and an array.</summary>
    [Function]
    public static int Tally(string label, int[] values) => label.Length + values.Length;

    /// <summary>A user record.</summary>
    [Function]
    public static decimal Total(Order order) => order.Quantity * order.UnitPrice;
}
