"""Pure mesh analysis (numpy/scipy only): what a character's geometry and its deformations tell."""
