"""HTTP edge of the API function: routing, auth, error mapping. No business rules here."""
