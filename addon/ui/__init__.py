"""What the user sees in Blender: the scene's settings, the sidebar panels, the operators
that drive the jobs modally, and the preferences with the dependency installer."""
