"""Model card (HTML + Markdown) and ATRS record for one model version."""
