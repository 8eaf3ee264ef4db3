"""Onboarding: welcome newcomers, the code-of-conduct gate, introductions and the room directory."""

from bots.onboarding.plugin import OnboardingPlugin

__all__ = ["OnboardingPlugin"]
