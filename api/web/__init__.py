"""HTTP plumbing (HTTP 基础设施): body limits, media types, security headers, downloads, GraphiQL."""
