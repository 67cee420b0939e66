"""Operators that start an operation idempotently, defer, and turn the event into a result."""
