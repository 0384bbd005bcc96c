"""The FastAPI sidecar: heartbeats, election, REST, live events, dashboard, metrics."""
