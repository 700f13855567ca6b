"""telespine: telemedicine care for back pain, for adults and children."""

__version__ = "0.1.0"
