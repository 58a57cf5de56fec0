"""The emulator's GlobalPlatform part: the Issuer Security Domain, supplementary security domains (the JPKI
APSD), the load-file catalogue and a personalisable test applet. Importing this package registers the
applet types ``gp-isd``, ``gp-sd`` and ``gp-test``."""

from jpkikit.reference.emulator.gp import security_domain, test_applet  # noqa: F401  (registers the applet types)
