"""Interoperability with other firmware: OpenBeken autoexec.bat scripts."""
