"""The add-on's jobs: a request in, checked inputs, main-thread bpy steps, the pure `core`
work off the main thread, and strips back on the sequencer (`runner` drives any of them)."""
