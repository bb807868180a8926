"""Endpoint catalogue: manifest models, loading, and the OpenAPI → manifest build."""

from .loader import load_catalogue, load_manifest, manifest_dir
from .models import Endpoint, Manifest

__all__ = ["Endpoint", "Manifest", "load_catalogue", "load_manifest", "manifest_dir"]
