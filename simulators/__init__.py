"""Stand-ins for the outside systems JPS Flow talks to: the bank gateway and the notification gateway.

Each is a small, real HTTP server with fault injection, run as `python -m simulators.bank` and
`python -m simulators.notify`. They are test and demo tools; the product never imports them.
"""
