// One app runs per process: the collections (the shared fixture's app, the ride-through tests' own apps) run one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
