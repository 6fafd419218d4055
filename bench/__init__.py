"""`make bench` / `jps bench`: the October 2020 cohort through the whole lifecycle on a stack of its
own, against a bare-Temporal skeleton on the same dev server (the machine's limit).

- `cohort`: the import file and what the officers know about each group (its NIKs).
- `officers`: simulated officers and dashboard readers calling the HTTP API.
- `skeleton`: the bare-Temporal workflow with a real group's counts of activities, updates, timers.
- `measure`: process CPU and memory, percentiles, the machine, PostgreSQL and history figures.
- `config`: what a run is asked to do (`BenchConfig`, `jps bench`'s options).
- `stack`: the run's own stack on free ports, with compressed policies, extra and skeleton workers.
- `import_phase`: the XLSX import on a quiet stack, its dry run, bare Temporal's registration limit.
- `paced`, `capacity`, `bulk_phase` (run by `load_phases`): officers at a human pace (open loop), the
  capacity curve, every waiting disbursement approved in bulk.
- `runner`: the phases (import, human pace, capacity, bulk, closed loop, reads at rest, histories,
  skeleton), `run_bench`.
- `figures`: the results document `bench/results/<timestamp>.json` and the headline.
"""
