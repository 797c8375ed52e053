"""Models: find local HF folders, build the offline demo model, load a base (+4/8-bit), attach adapters."""
