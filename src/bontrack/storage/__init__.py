"""Storage, whose imports run one way: the engine and transactions (engine), the unit of work and
its writers' one interface (unit; buffered, bulk), versioned rows and the current-version query
(versioned), audit writing (audit_log), batched inserts (inserts), record ids and times."""
