// Start, write one line, exit: what a bare start of the runtime costs, with nothing of Modal in it.
Console.WriteLine("hello");
