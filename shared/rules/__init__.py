"""Pure loyalty rules: no I/O, shared by the server and (later) the offline terminal so both
compute the same reward to the cent."""
