"""ETSI smart-card specifications: the UICC (TS 102 221) and its card application toolkit (TS 102 223)."""
