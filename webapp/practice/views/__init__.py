"""The pages, one module per area: lists and children, governance (IG), analysis, re-identification, home."""
