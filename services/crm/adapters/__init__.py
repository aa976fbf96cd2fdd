"""The crm service's adapters: all its SQL."""
