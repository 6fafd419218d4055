"""The contracts of the Temporal boundary: what crosses between the API, the workflows and the
activities, and nothing else.

- `names`: the workflow types, update, signal and query names, the search attributes, the converter;
- `refusals`: the refusal kinds a workflow answers with and the error types activities raise;
- `workflow`: the lifecycle workflow's input;
- `activities`: every activity's input and result (budget, payments, the recorded step, reconciliation).

Depends on pydantic, temporalio's public types and `jps.domain` only.
"""
