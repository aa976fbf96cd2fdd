"""What starts the gateway's work: HTTP routes, the line, event consumers, jobs, the CLI."""
