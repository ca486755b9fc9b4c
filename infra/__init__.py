"""Deploy and run helpers: template loading, provisioning, the embedded local stack, the CLI."""
