"""Activities: one module per outside system (PostgreSQL read model and audit, budget ledger,
bank payments, notifications). Each is a class holding its connection pool or HTTP client; the
worker builds one instance and registers its bound methods."""
