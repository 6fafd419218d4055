"""The contracts of the Temporal boundary: what crosses between the API, the workflows and the
activities, and nothing else.

- `names`: the workflow types, update, signal and query names;
- `refusals`: the refusal kinds a workflow answers with and the error types activities raise;
- `workflow`: the lifecycle workflow's input;
- `activities`: every activity's input and result (budget, payments, the recorded step, reconciliation);
- `grievances`, `verification`, `wages`: those workflows' inputs, states and activity contracts.

Depends on pydantic and `jps.domain` only. What must be a temporalio object sits beside it in the
core: the search attributes' keys in `jps/search_attributes.py`, the payload converter in
`jps/sealing.py`.
"""
