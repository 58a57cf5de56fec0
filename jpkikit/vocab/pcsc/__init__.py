"""The PC/SC Workgroup's interoperability specification, as far as a contactless reader's behaviour goes."""
