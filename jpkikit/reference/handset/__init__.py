"""The reference handset: a model of Open Mobile API (``omapi``) with an Access Control Enforcer (``ace``)
that reads the SE's ARA-M, served to the kit through the handset agent protocol (``agent``, ``client``).

``seac`` (SEAC data objects) is shared with the emulator's ARA-M; this package imports nothing at load time.
"""
