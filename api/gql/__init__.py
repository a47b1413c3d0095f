"""GraphQL plumbing (GraphQL 基础设施): context, enums, errors, directives, nodes, pagination, descriptions,
the answer cache and the request bounds. No feature resolvers here."""
