//! Azure clients: Entra tokens, Log Analytics, Sentinel REST, Microsoft Graph.
