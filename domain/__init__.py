"""The rules of zizhu (资助), with no GraphQL and no HTTP in them.

Feature packages follow the three functions of the upgrade and what they stand on:
`comparison` (the nightly special-group comparison), `statistics` (regional figures),
`reasons` (unfunded lists, reasons, legacy history, carry-over), `roster` (preschool roster and
its time windows), `imports` (the tabular file formats), `accounts` (accounts, scopes, audit),
`reference` (code lists, identity numbers, periods). Beside them: `models` (Tortoise tables),
`migrations`, `db` (set-up and the raw-SQL helper), `settings`, `errors`, `demo`.
"""
