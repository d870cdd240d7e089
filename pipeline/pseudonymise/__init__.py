"""pseudonymise."""
