"""One module per resource; importing a module registers its routes."""
