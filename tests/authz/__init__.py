"""The authorisation matrix (issue 15, build item 2): every back-office route of every
service, its need (shared/access.Need) and how to call it in a target's scope. One module per
service; tests/integration/test_authorization_matrix.py runs them all and fails when a route
of a service's OpenAPI document is missing."""
