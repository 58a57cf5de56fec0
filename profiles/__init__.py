"""The bundled profiles (ICS and IXIT of the kit's reference implementations), shipped as package data."""
