"""All the gateway's SQL: requests and nonces, terminals and their copies of what cards
publishes (blacklist, parameters), sync sessions."""
