"""The gateway's HTTP routes, one table (``routes``) per module, gathered by app.py."""
