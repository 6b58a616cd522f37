"""Sans-I/O wire codecs, one module per monitor protocol (no ports, threads, Qt or SQL)."""
