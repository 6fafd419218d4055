"""`python -m tools.cli …`: the `jps` command without its console script."""

from tools.cli import main

main()
