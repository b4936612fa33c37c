"""Declarative device profiles: a DP layout is a YAML file, not code."""

from tuyameter.profiles.loader import ProfileError, find_profile, list_profiles, load_profile
from tuyameter.profiles.model import DPSpec, Profile

__all__ = ["DPSpec", "Profile", "ProfileError", "find_profile", "list_profiles", "load_profile"]
