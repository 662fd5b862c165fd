"""S&OP Studio core: planning math, data layer and services. Usable without the app."""

__version__ = "0.1.0"
