"""The application boundary between consensus and business logic (see ``interface``)."""
