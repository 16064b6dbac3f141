"""Test support: virtual audio devices and shared session fixtures."""
