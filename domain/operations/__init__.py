"""Operations (运维): worker heartbeats, readiness, queue health and metrics."""
