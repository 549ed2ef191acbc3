"""Storage: one store per collection, the stored document shapes, the indexes,
and the server's capabilities. Imports nothing above it."""
