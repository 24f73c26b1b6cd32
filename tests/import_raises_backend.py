"""A backend whose import raises (a simulator built against another numpy, say)."""
raise ImportError("simulated: this simulator cannot be loaded here")
