//! Microsoft Teams through the Bot Framework: JWT check, activities, connector client.
