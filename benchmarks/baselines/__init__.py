"""What the library is compared with (``benchmarks.compare``).

- :mod:`benchmarks.baselines.toolkit_driver`: NetApp's DataOps toolkits, unchanged, one thread per
  operation as a worker slot would hold it; runs under the toolkits' own interpreter.
- :mod:`benchmarks.baselines.naive_triggers`: the usual provider pattern, a trigger per operation
  with its own client and its own poll loop.
"""
