"""The read-only dashboard: pages of where the budgets stand, served from the database (`alertd dashboard`)."""
