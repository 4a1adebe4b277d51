//! Domains, accounts, aliases, credentials, SASL mechanisms and the per-account service policy
