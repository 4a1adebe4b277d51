//! Admin REST API, web console, client autoconfig
