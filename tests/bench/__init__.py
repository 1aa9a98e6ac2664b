"""driftguard's benchmarks (`make bench`, or `python -m tests.bench`): one command, one
table, every figure measured in the same run. Not tests: no module here is named
test_*, so pytest never collects them.

1. cold start: each handler's import next to `import boto3` (imports.py)
2. own CPU per event with AWS stubbed (cpu.py)
3. API calls per scenario against the minimum (calls.py, minimums.py)
4. the sweep at growing sizes: wall time, calls, memory (sweeps.py)
5. the same sweep with AWS's latency, against the quota floor (sweeps.py)
6. a detection sweep: driftguard, Cloud Custodian and a plain loop (detection.py)
"""
