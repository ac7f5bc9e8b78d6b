"""The rule-tracing engine: rules rewrite expressions, the tracer records each application as a Step."""
