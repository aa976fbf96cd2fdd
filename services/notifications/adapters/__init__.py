"""The notifications service's adapters: all its SQL."""
