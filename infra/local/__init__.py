"""The embedded local stack: AWS on moto (or any endpoint), functions run in-process."""
