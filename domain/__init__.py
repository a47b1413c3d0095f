"""The rules of zizhu (资助), with no GraphQL and no HTTP in them.

Design notes: docs/design/domain.md."""
