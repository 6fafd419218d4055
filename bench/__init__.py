"""`make bench` / `jps bench`: the October 2020 cohort through the whole lifecycle on a stack of its
own, against a bare-Temporal skeleton on the same dev server (the machine's limit).

- `cohort`: the import file and what the officers know about each group (its NIKs).
- `officers`: simulated officers and dashboard readers calling the HTTP API.
- `skeleton`: the bare-Temporal workflow with a real group's counts of activities, updates, timers.
- `measure`: process CPU and memory, percentiles, the machine, PostgreSQL and history figures.
- `runner`: starts the stack, runs the phases, writes `bench/results/<timestamp>.json`.
"""
