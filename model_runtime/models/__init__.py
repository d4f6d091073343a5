"""Model architectures implemented by the runtime."""
