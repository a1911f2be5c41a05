"""Storage: versioned rows, and (later) the engine, transactions and the unit of work."""
