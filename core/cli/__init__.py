"""The plain-Python command lines (`python -m lipsync ...`) and their exit codes."""
