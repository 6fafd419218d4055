"""The operator's commands: the CLI (`jps`), the local stack launcher, the demo seed and the chaos run.

The only code, besides `worker.py`, that may import the API, the activities and the bench."""
