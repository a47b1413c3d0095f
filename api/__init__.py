"""The GraphQL API (Strawberry on Starlette). Thin: resolvers call the domain services.

One module or package per feature, mirroring `zizhu.domain`: `accounts`, `reference` (code
lists), `comparison` (runs and periods), `statistics` (regional rollups), `reasons` (unfunded
lists and reasons), `roster` (preschool roster and windows). Around them: `app` (routes), `schema`
(the merged schema and its extensions), `context`, `directives`, `errors`, `enums`,
`pagination`, `templates` (file downloads) and `cli` (the `zizhu` command).
"""
